#!/usr/bin/env python3
"""Random /write differential: sends the same generated line-protocol requests (escapes,
every field type, bad values, odd timestamps and precisions, duplicate fields and tags,
type conflicts) to two 1.x servers (real influxd 1.6.7 and Tessera), compares status and
body of each, and with `check` also what both hold after each request (`SELECT *::field
FROM /.*/; SHOW FIELD KEYS` on the scratch database `fz`), stopping at the first
divergence. Known and not reproduced: when points fail in several shards, influxd reports
one shard's error (a goroutine race), Tessera the sum; influxd indexes a dropped point's
series.

    python3 tests/random_write_differential.py SEED N [check]    # ports 29500, 29300
"""
import sys, random, json, urllib.request, urllib.parse, urllib.error
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import random_differential as rd
random.seed(int(sys.argv[1])); n = int(sys.argv[2]); CHECK = len(sys.argv) > 3
def req(port, path, data=None, method="POST"):
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(r) as x: return x.status, x.read().decode()
    except urllib.error.HTTPError as e: return e.code, e.read().decode()
for p in (29500, 29300):
    req(p, "/query?" + urllib.parse.urlencode({"q": "DROP DATABASE fz"}))
    req(p, "/query?" + urllib.parse.urlencode({"q": "CREATE DATABASE fz"}))
meas = ["m", "m2", "we\\ ird", "c\\,omma", "m=eq", '"q"', "ümlaut"]
tagk = ["t", "host", "t\\ k", "t\\=k", "t\\,k", "_t"]
tagv = ["a", "b", "v\\ sp", "v\\,c", "v\\=e", "ü", "1"]
fk = ["f", "g", "f\\ s", "f\\=e", "f\\,c", "time", "_f"]
KT = {"f": ["1", "1.5", "-2", "1e3", "1E-2", "1.", ".5", "-0.0"], "g": ["3i", "-4i", "9223372036854775807i", "-9223372036854775808i", "0i"],
      "f\\ s": ['"s"', '"q\\"uote"', '"sp ace"', '"c,omma"', '"\\\\"', '""', '"ü"'], "f\\=e": ["t", "F", "true", "FALSE", "T", "false"],
      "f\\,c": ["5u", "0u", "18446744073709551615u"], "time": ["1"], "_f": ["2", "-3.25"]}
BAD = ["", "nan", "inf", "9223372036854775808i", "0x10", "+3", "18446744073709551616u", "tru", '"unterminated', "-5u"]
def fv(k=None):
    if k in KT and random.random() < 0.9: return random.choice(KT[k])
    if random.random() < 0.5: return random.choice(BAD)
    return random.choice(["1", "1.5", "-2", "3i", "-4i", "5u", "t", "F", "true", "FALSE", '"s"', '"q\\"uote"', '"sp ace"', '"c,omma"', "1e3", "1E-2", "nan", "inf", "", "9223372036854775807i", "9223372036854775808i", '"\\\\"', "0x10", "1.", ".5", "+3"])
def line():
    m = random.choice(meas)
    tags = "".join(f",{random.choice(tagk)}={random.choice(tagv)}" for _ in range(random.choice([0, 0, 1, 2])))
    fields = ",".join(f"{k}={fv(k)}" for k in (random.choice(fk) for _ in range(random.choice([1, 1, 2, 3]))))
    ts = random.choice([" 1672531200000000001", " 1672531200000000000", " 1672531200", " -1", " 1672531200000000000000", " abc", " 1672531260000000000", " 1.5"])
    l = f"{m}{tags} {fields}{ts}"
    r = random.random()
    if r < 0.05: l = l.replace(" ", "  ", 1)
    elif r < 0.08: l = "# comment"
    elif r < 0.1: l = m
    elif r < 0.12: l = l + " extra"
    return l
diffs = 0
for i in range(n):
    body = "\n".join(line() for _ in range(random.choice([1, 1, 2, 4])))
    params = {"db": "fz"}
    if random.random() < 0.3: params["precision"] = random.choice(["s", "ms", "u", "ns", "h", "m", "x", "n"])
    res = [req(p, "/write?" + urllib.parse.urlencode(params), body.encode()) for p in (29500, 29300)]
    a, b = res
    ja = json.loads(a[1]) if a[1].strip() else None
    jb = json.loads(b[1]) if b[1].strip() else None
    st = [json.loads(req(p, "/query?" + urllib.parse.urlencode({"db": "fz", "q": "SELECT *::field FROM /.*/; SHOW FIELD KEYS"}), method="GET")[1]) for p in (29500, 29300)] if CHECK else [0, 0]
    if a[0] != b[0] or ja != jb or not rd.close(st[0], st[1]):
        diffs += 1
        print("DIFF", params, repr(body)); print("  influxd", a); print("  tessera", b)
        if not rd.close(st[0], st[1]):
            sa = st[0]["results"][0].get("series", []); sb = st[1]["results"][0].get("series", [])
            print("  state differs", len(sa), len(sb))
            for x, y in zip(sa, sb):
                if x != y: print("   influxd", json.dumps(x)[:400]); print("   tessera", json.dumps(y)[:400]); break
            fa = st[0]["results"][1].get("series", []); fb = st[1]["results"][1].get("series", [])
            for x, y in zip(fa, fb):
                if x != y: print("   influxd fk", json.dumps(x)[:400]); print("   tessera fk", json.dumps(y)[:400]); break
        break
q = "SELECT * FROM /.*/ GROUP BY *"
res = [req(p, "/query?" + urllib.parse.urlencode({"db": "fz", "q": q}), method="GET") for p in (29500, 29300)]
A, B = json.loads(res[0][1]), json.loads(res[1][1])
print("stored same:", rd.close(A, B))
if not rd.close(A, B):
    sa = A["results"][0].get("series", []); sb = B["results"][0].get("series", [])
    print(len(sa), len(sb))
    for x, y in zip(sa, sb):
        if x != y: print(" influxd", json.dumps(x)[:500]); print(" tessera", json.dumps(y)[:500]); break
print("diffs", diffs, "of", n)
