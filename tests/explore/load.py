import sys, urllib.request, urllib.parse
port = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else '/work/main/tests/cases/query/dataset.lp'
db = rp = None; mode = None; buf = []
def post(url, data):
    req = urllib.request.Request(url, data=data, method='POST')
    try:
        urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        print(url, e.code, e.read()[:200])
def flush():
    global buf
    if buf:
        q = {'db': db}
        if rp: q['rp'] = rp
        post('http://127.0.0.1:%s/write?%s' % (port, urllib.parse.urlencode(q)), '\n'.join(buf).encode())
        buf = []
for line in open(path):
    line = line.rstrip('\n')
    if line.startswith('# DDL'): flush(); mode = 'ddl'; continue
    if line.startswith('# DML'): flush(); mode = 'dml'; continue
    if line.startswith('# CONTEXT-DATABASE:'): flush(); db = line.split(':', 1)[1].strip(); continue
    if line.startswith('# CONTEXT-RETENTION-POLICY:'): flush(); rp = line.split(':', 1)[1].strip(); continue
    if not line.strip() or line.startswith('#'): continue
    if mode == 'ddl':
        post('http://127.0.0.1:%s/query' % port, urllib.parse.urlencode({'q': line}).encode())
    else:
        buf.append(line)
        if len(buf) >= 5000: flush()
flush()
