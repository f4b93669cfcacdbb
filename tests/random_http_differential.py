#!/usr/bin/env python3
"""Random /query parameter differential: the same statements with random `db`, `rp`,
`epoch`, `pretty`, `chunked`, `chunk_size`, `params`, `u`/`p`, by GET and POST, sent to
two 1.x servers (real influxd 1.6.7 on 29500 and Tessera on 29300, with
tests/cases/query/dataset.lp loaded); prints the requests whose status or body differ.

    python3 tests/random_http_differential.py SEED N
"""
import sys, random, json, urllib.request, urllib.parse, urllib.error
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import random_differential as rd
random.seed(int(sys.argv[1])); n = int(sys.argv[2])
qs = ["SELECT count(usage_user) FROM cpu", "SHOW RETENTION POLICIES ON db0", "SELECT * FROM cpu LIMIT 2", "", ";", "SELECT", "SHOW MEASUREMENTS; SELECT mean(usage_user) FROM cpu",
      "SELECT usage_user FROM cpu WHERE host = $h LIMIT 1", "SELECT * FROM nope", "SELECT count(usage_user) FROM cpu GROUP BY time(1h)", "select 1", "DROP DATABASE nonexistent_x",
      "SELECT usage_user FROM cpu WHERE time > $t LIMIT 1", "SELECT * FROM cpu WHERE host = $h AND usage_user > $v LIMIT 1"]
vals = {"db": ["db0", "nope", "", "db1"], "rp": ["autogen", "rp2", "nope", ""], "epoch": ["ns", "x", "", "ms", "h"], "pretty": ["true", "false", "1", "yes", ""],
        "chunked": ["true", "false", "1", "x", ""], "chunk_size": ["0", "-1", "abc", "1", "10000000000000000000"],
        "params": ['{"h":"host_a"}', '{"h":1}', '{bad', '{"t":"2023-01-01T00:00:00Z","h":"host_b","v":10}', '[]', '{"v":{"x":1}}', '{"h":null}'], "u": ["x"], "p": ["y"]}
diffs = 0
for _ in range(n):
    p = {"q": random.choice(qs)}
    for k in vals:
        if random.random() < 0.3: p[k] = random.choice(vals[k])
    method = random.choice(["GET", "POST", "POST"])
    res = []
    for port in (29500, 29300):
        if method == "GET":
            req = urllib.request.Request(f"http://127.0.0.1:{port}/query?" + urllib.parse.urlencode(p))
        else:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/query", data=urllib.parse.urlencode(p).encode(), method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req) as r: body = r.read().decode(); st = r.status
        except urllib.error.HTTPError as e: body = e.read().decode(); st = e.code
        try: body = [json.loads(l) for l in body.splitlines() if l.strip()]
        except Exception: pass
        res.append((st, body))
    if not rd.close(res[0], res[1]):
        diffs += 1
        print("DIFF", method, p); print("  influxd", str(res[0])[:400]); print("  tessera", str(res[1])[:400])
print("diffs", diffs, "of", n)
