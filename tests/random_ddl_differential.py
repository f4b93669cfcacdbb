#!/usr/bin/env python3
"""Random DDL differential: random sequences of CREATE/ALTER/DROP DATABASE, RETENTION
POLICY, USER, CONTINUOUS QUERY and SUBSCRIPTION, GRANT/REVOKE, SET PASSWORD, writes and
the SHOW statements that list what they made, sent in the same order to two 1.x servers
(real influxd 1.6.7 on 29500 and Tessera on 29300; neither with authentication).
Prints the statements whose status or body differ. Names carry a per-run prefix, and
everything made is dropped at the end.

    python3 tests/random_ddl_differential.py SEED N
"""
import json
import os
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_differential as rd  # noqa: E402

seed, n = int(sys.argv[1]), int(sys.argv[2])
random.seed(seed)
pre = f"rz{seed}_"
dbs = [f"{pre}d{i}" for i in range(3)] + ["nope_db"]
rps = ["autogen", "r1", "r2", "r 3", "nope"]
users = [f"{pre}u{i}" for i in range(3)] + ["nobody"]
cqs = ["c1", "c2", "c 3"]
subs = ["s1", "s2"]
durs = ["1h", "2h", "1d", "3d", "7d", "30m", "INF", "0s", "52w", "1h30m", "10m", "25h"]


def q(s):
    return '"' + s.replace('"', '\\"') + '"' if (" " in s or s[0].isdigit()) else s


def rp_clause():
    parts = []
    if random.random() < 0.8:
        parts.append("DURATION " + random.choice(durs))
    if random.random() < 0.8:
        parts.append("REPLICATION " + random.choice(["1", "1", "2", "0"]))
    if random.random() < 0.4:
        parts.append("SHARD DURATION " + random.choice(durs))
    if random.random() < 0.2:
        parts.append("DEFAULT")
    return " ".join(parts)


def gen():
    db, rp, u = random.choice(dbs), random.choice(rps), random.choice(users)
    r = random.random()
    if r < 0.08:
        extra = ""
        if random.random() < 0.4:
            extra = " WITH " + " ".join(
                x for x in [random.choice(["DURATION " + random.choice(durs), ""]),
                            random.choice(["REPLICATION 1", ""]),
                            random.choice(["SHARD DURATION " + random.choice(durs), ""]),
                            random.choice(["NAME " + q(random.choice(rps)), ""])] if x)
        return f"CREATE DATABASE {q(db)}{extra}"
    if r < 0.12:
        return f"DROP DATABASE {q(db)}"
    if r < 0.22:
        return f"CREATE RETENTION POLICY {q(rp)} ON {q(db)} {rp_clause() or 'DURATION 1d REPLICATION 1'}"
    if r < 0.30:
        return f"ALTER RETENTION POLICY {q(rp)} ON {q(db)} {rp_clause()}".rstrip()
    if r < 0.34:
        return f"DROP RETENTION POLICY {q(rp)} ON {q(db)}"
    if r < 0.40:
        admin = " WITH ALL PRIVILEGES" if random.random() < 0.3 else ""
        return f"CREATE USER {q(u)} WITH PASSWORD '{random.choice(['pw', 'x', ''])}'{admin}"
    if r < 0.43:
        return f"DROP USER {q(u)}"
    if r < 0.50:
        priv = random.choice(["READ", "WRITE", "ALL", "ALL PRIVILEGES"])
        return f"GRANT {priv} ON {q(db)} TO {q(u)}"
    if r < 0.55:
        priv = random.choice(["READ", "WRITE", "ALL"])
        return f"REVOKE {priv} ON {q(db)} FROM {q(u)}"
    if r < 0.57:
        return random.choice([f"GRANT ALL PRIVILEGES TO {q(u)}", f"REVOKE ALL PRIVILEGES FROM {q(u)}"])
    if r < 0.59:
        return f"SET PASSWORD FOR {q(u)} = '{random.choice(['n', 'pw2'])}'"
    if r < 0.66:
        cq = random.choice(cqs)
        every = random.choice(["", f" RESAMPLE EVERY {random.choice(durs[:6])}", f" RESAMPLE FOR {random.choice(durs[:6])}",
                               f" RESAMPLE EVERY 1h FOR {random.choice(durs[:6])}"])
        grp = random.choice(["GROUP BY time(1h)", "GROUP BY time(30m), *", "GROUP BY time(1d, 1h), host", ""])
        into = random.choice([f"{q(db)}.{q(rp)}.agg", "agg", f"{q(db)}..agg", ":MEASUREMENT"])
        fn = random.choice(["mean(v)", "count(v)", "max(v), min(v)", "v"])
        return f"CREATE CONTINUOUS QUERY {q(cq)} ON {q(db)}{every} BEGIN SELECT {fn} INTO {into} FROM m {grp} END"
    if r < 0.69:
        return f"DROP CONTINUOUS QUERY {q(random.choice(cqs))} ON {q(db)}"
    if r < 0.74:
        s = random.choice(subs)
        mode = random.choice(["ALL", "ANY"])
        dest = random.choice(["'udp://127.0.0.1:9'", "'http://127.0.0.1:9', 'http://127.0.0.1:10'", "'bad'", "'https://h:1'"])
        return f"CREATE SUBSCRIPTION {q(s)} ON {q(db)}.{q(rp)} DESTINATIONS {mode} {dest}"
    if r < 0.77:
        return f"DROP SUBSCRIPTION {q(random.choice(subs))} ON {q(db)}.{q(rp)}"
    if r < 0.80:
        return "WRITE"
    return random.choice([
        "SHOW DATABASES", f"SHOW RETENTION POLICIES ON {q(db)}", "SHOW USERS", f"SHOW GRANTS FOR {q(u)}",
        "SHOW CONTINUOUS QUERIES", "SHOW SUBSCRIPTIONS", f"SHOW MEASUREMENTS ON {q(db)}",
        f"SHOW SERIES ON {q(db)}", f"SHOW TAG KEYS ON {q(db)}", f"SHOW FIELD KEYS ON {q(db)}",
        f"SELECT * FROM {q(db)}.{q(rp)}.m", f"SELECT count(v) FROM {q(db)}..m",
    ])


def send(port, stmt):
    if stmt == "WRITE":
        db, rp = random_state
        path = f"/write?db={urllib.parse.quote(db)}&rp={urllib.parse.quote(rp)}"
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"m,host=a v=1 1672531200000000000\n", method="POST")
    else:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/query", data=urllib.parse.urlencode({"q": stmt}).encode(),
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req) as r:
            body, st = r.read().decode(), r.status
    except urllib.error.HTTPError as e:
        body, st = e.read().decode(), e.code
    try:
        body = json.loads(body) if body.strip() else body
    except ValueError:
        pass
    return st, body


def ours(name):
    return isinstance(name, str) and (name.startswith(pre) or name in ("nope_db", "nobody"))


def only_ours(body):
    """Keeps what this run made: the servers may hold other databases and users."""
    if not isinstance(body, dict):
        return body
    for r in body.get("results", []):
        kept = []
        for s in r.get("series", []):
            if s.get("name") == "databases" or s.get("columns") == ["user", "admin"]:
                s = dict(s, values=[v for v in s.get("values", []) if ours(v[0])])
                if not s["values"]:
                    del s["values"]
            elif s.get("columns") == ["database", "privilege"]:
                # influxd lists a user's privileges in Go map order (random).
                s = dict(s, values=sorted(s.get("values", [])))
            elif "name" in s and s.get("columns") in (["name", "query"], ["retention_policy", "name", "mode", "destinations"]):
                if not ours(s["name"]):
                    continue
            kept.append(s)
        if "series" in r:
            r["series"] = kept
    return body


diffs = 0
for _ in range(n):
    stmt = gen()
    random_state = (random.choice(dbs), random.choice(rps))
    res = [(st, only_ours(b)) for st, b in (send(p, stmt) for p in (29500, 29300))]
    if not rd.close(res[0], res[1]):
        diffs += 1
        shown = stmt if stmt != "WRITE" else f"WRITE db={random_state[0]} rp={random_state[1]}"
        print("DIFF", shown)
        print("  influxd", str(res[0])[:400])
        print("  tessera", str(res[1])[:400])
for stmt in [f"DROP DATABASE {q(d)}" for d in dbs[:-1]] + [f"DROP USER {q(u)}" for u in users[:-1]]:
    for p in (29500, 29300):
        send(p, stmt)
print("diffs", diffs, "of", n)
