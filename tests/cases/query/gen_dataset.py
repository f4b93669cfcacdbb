#!/usr/bin/env python3
"""Writes dataset.lp, the data every /query case runs against (deterministic: no clock, no
random state; run `python3 tests/cases/query/gen_dataset.py` to regenerate).

The file is in `influx -import` format: a `# DDL` section of statements sent one by one to
/query, then `# DML` sections whose `# CONTEXT-DATABASE:` / `# CONTEXT-RETENTION-POLICY:`
lines say where the following lines are written (POST /write?db=..&rp=..&precision=ns, in
chunks of at most 5000 lines). tests/record_query.py and tests/differential_query.rs load
it with exactly the same requests in the same order.

What is in it (all timestamps in 2023, ns precision):
- db0.autogen `cpu`: host_a..host_d (region us-east for a/b, eu-west for c/d) every 10s from
  2023-01-01T00:00:00Z for 2h; host_c has a 15 minute gap, host_d lacks `status` in a
  stretch; host_e (us-east) is sparse (every 10 minutes, usage_user only). Fields
  usage_user/usage_system (2-decimal floats), uptime (integer counter that resets), status
  (string), healthy (bool). Two points of host_a are written twice (the later one wins and
  the fields merge).
- db0.autogen `mem`: host_a/host_b every 60s for 2h; `cached` only in some points,
  `swap` (float) only on host_b; negative `delta`.
- db0.autogen `disk io` (a space in the name) with tag values holding spaces and unicode,
  and `net,if` (a comma in the name).
- db0.autogen `weather`: every 6h for 21 days from 2023-01-02 (crosses 7-day shard groups),
  negative temperatures, integer humidity, string `sky`.
- db0.autogen `dst`: every 3h from 2023-03-10 for 18 days (both daylight-saving starts), for
  tz() cases.
- db0.autogen `bigint`: integers near the int64 limits and beyond 2^53.
- db0.autogen `precise`: timestamps with nanosecond digits, strings with quotes, backslashes
  and unicode.
- db0.rp2: `cpu` (host_a, a few points) and `rp2only`.
- db1.autogen: `cpu` (host_z) and `other`.
- db2.autogen: `tie` (six series on one grid, many equal values; see `tie_lines`), `ptie`
  (twenty series, see `ptie_lines`), and `c`, whose field `x` is an integer in one shard group, a float in the next
  and a string in the third; `edge`, points at the first and last times a point may have.
"""

import math
import os

T0 = 1672531200 * 10**9  # 2023-01-01T00:00:00Z
S = 10**9


def f2(x):
    """A float field with two decimals, always written with a decimal point."""
    return "%.2f" % x


def cpu_lines():
    out = []
    hosts = [("host_a", "us-east"), ("host_b", "us-east"), ("host_c", "eu-west"), ("host_d", "eu-west")]
    statuses = ["ok", "ok", "ok", "warn", "ok", "crit", "ok", "warn"]
    for h, (host, region) in enumerate(hosts):
        uptime = 1000 * (h + 1)
        for i in range(720):  # 2h every 10s
            t = T0 + i * 10 * S
            if host == "host_c" and 180 <= i < 270:  # gap 00:30 - 00:45
                continue
            uptime += 10
            if host == "host_b" and i == 400:  # counter reset (a restart)
                uptime = 5
            user = 20 + 15 * math.sin(i / 17.0 + h) + ((i * 7919 + h * 31) % 100) / 10.0
            system = 5 + 3 * math.cos(i / 23.0 + h) + ((i * 104729 + h * 7) % 50) / 10.0
            if host == "host_d" and i % 97 == 13:
                user = -user  # a few negative readings
            fields = ["usage_user=" + f2(user), "usage_system=" + f2(system), "uptime=%di" % uptime]
            if not (host == "host_d" and 300 <= i < 360):
                fields.append('status="%s"' % statuses[(i * 3 + h) % len(statuses)])
            fields.append("healthy=" + ("false" if (i + h) % 11 == 0 else "true"))
            out.append("cpu,host=%s,region=%s %s %d" % (host, region, ",".join(fields), t))
    # The sparse series.
    for i in range(12):
        t = T0 + i * 600 * S
        out.append("cpu,host=host_e,region=us-east usage_user=%s %d" % (f2(50 + i * 1.25), t))
    # Rewrites of two existing points: the later write wins, fields merge.
    out.append("cpu,host=host_a,region=us-east usage_user=99.99 %d" % (T0 + 60 * S))
    out.append('cpu,host=host_a,region=us-east usage_system=0.01,status="rewritten" %d' % (T0 + 70 * S))
    return out


def mem_lines():
    out = []
    for h, host in enumerate(["host_a", "host_b"]):
        for i in range(120):
            t = T0 + i * 60 * S
            used = 4_000_000_000 + h * 1_000_000_000 + (i * 37_000_000) % 900_000_000
            total = 16_000_000_000
            fields = ["used=%di" % used, "free=%di" % (total - used), "used_percent=%s" % repr(round(used * 100.0 / total, 4))]
            if i % 4 == 0:
                fields.append("cached=%di" % (500_000_000 + i * 1_000_000))
            if host == "host_b":
                fields.append("swap=%s" % f2((i % 9) * 0.5))
            fields.append("delta=%di" % (((i * 13) % 21) - 10))
            out.append("mem,host=%s,dc=dc1 %s %d" % (host, ",".join(fields), t))
    return out


def disk_lines():
    out = []
    devices = [("sda", "/mnt/my\\ data", "José"), ("sdb", "/var/lib", "日本語"), ("nvme0n1", "/home/a\\,b", "zoë\\ smith")]
    for d, (dev, path, owner) in enumerate(devices):
        for i in range(30):
            t = T0 + i * 120 * S
            out.append(
                "disk\\ io,device=%s,path=%s,owner=%s read_bytes=%di,write_bytes=%di,latency_ms=%s %d"
                % (dev, path, owner, 1000 * i * (d + 1), 700 * i + d, f2(0.5 + (i % 7) * 0.25 + d), t)
            )
    for i in range(20):
        t = T0 + i * 300 * S
        out.append("net\\,if,iface=eth%d rx=%di,tx=%di %d" % (i % 2, i * 1500, i * 900 - 5000, t))
    return out


def weather_lines():
    out = []
    start = 1672617600 * 10**9  # 2023-01-02T00:00:00Z; 21 days cross several 7d shard groups
    cities = ["Oslo", "Cairo", "São Paulo"]
    skies = ["clear", "cloudy", "rain", "snow"]
    for c, city in enumerate(cities):
        for i in range(84):  # every 6h for 21 days
            t = start + i * 6 * 3600 * S
            temp = [-8.0, 18.0, 26.0][c] + 6 * math.sin(i / 4.0) - (i % 5) * 0.75
            hum = 40 + (i * 7 + c * 11) % 55
            out.append(
                'weather,city=%s temp=%s,humidity=%di,sky="%s" %d'
                % (city.replace(" ", "\\ "), f2(temp), hum, skies[(i + c) % 4], t)
            )
    return out


def dst_lines():
    """Every 3h across both 2023 daylight-saving starts (US 2023-03-12, EU 2023-03-26)."""
    start = 1678406400 * 10**9  # 2023-03-10T00:00:00Z
    return ["dst,zone=z v=%di,f=%s %d" % (i, f2(i * 0.5), start + i * 3 * 3600 * S) for i in range(144)]


def bigint_lines():
    vals = [9223372036854775807, -9223372036854775808, 9007199254740993, -9007199254740993, 1, 0, -1, 4611686018427387904]
    return ["bigint,k=%s v=%di %d" % ("p" if v >= 0 else "n", v, T0 + i * S) for i, v in enumerate(vals)]


def precise_lines():
    strs = ['plain', 'with space', 'say \\"hi\\"', 'back\\\\slash', 'ünïcødé ✓', '', 'comma, and = sign']
    out = []
    for i, s in enumerate(strs):
        t = T0 + i * S + 123456789 + i
        out.append('precise,kind=k%d s="%s",n=%di,x=%s %d' % (i % 2, s, i, repr(i * 0.1 + 1e-7), t))
    return out


def rp2_lines():
    out = ["cpu,host=host_a,region=us-east usage_user=%s,uptime=%di %d" % (f2(10 + i), 100 + i, T0 + i * 60 * S) for i in range(10)]
    out += ["rp2only,k=v value=%d %d" % (i * i, T0 + i * 3600 * S) for i in range(5)]
    return out


def db1_lines():
    out = ["cpu,host=host_z,region=ap-south usage_user=%s,usage_system=%s %d" % (f2(1.5 * i), f2(0.5 * i), T0 + i * 10 * S) for i in range(12)]
    out += ['other,t=x f=%di,g="s%d" %d' % (i, i, T0 + i * S) for i in range(5)]
    return out


def db2_lines():
    """A field written with another type in each weekly shard group: integer, then float,
    then string (and a second field only in the middle one)."""
    day = 86400 * S
    return [
        "c,h=a x=1i %d" % (1 * S),
        "c,h=a x=2i %d" % (2 * S),
        "c,h=a x=1.5 %d" % (10 * day),
        "c,h=b x=2.5 %d" % (10 * day + S),
        'c,h=b y="s" %d' % (10 * day + 2 * S),
        'c,h=c x="str" %d' % (20 * day),
    ] + tie_lines() + ptie_lines() + edge_lines()


def edge_lines():
    """db2.autogen `edge`: points at the first and the last time a point may have, whose
    weekly shard groups reach past them."""
    first, last = -(2**63) + 2, 2**63 - 2
    return [
        "edge,k=a f=1.5,i=1i %d" % first,
        "edge,k=a f=2.5,i=2i %d" % (first + 3600 * S),
        "edge,k=a f=6.5,i=6i %d" % (5 * S),
        "edge,k=b f=3.5,i=3i %d" % last,
        "edge,k=b f=4.5,i=4i %d" % (last - 3600 * S),
        "edge,k=b f=5.5,i=5i %d" % (3 * S),
    ]


def ptie_lines():
    """db2.autogen `ptie`: twenty series (g=x: p00..p11; g=y: p12..p19) on one 10 s grid,
    twelve points from 1970-02-14 and six from 1970-02-21 (two shard groups), with holes
    and values 0..2, so that many series tie in time and value in a window and which one
    min()/max()/first()/last() report beside a tag follows influxd's ParallelMergeIterator
    (the series cut into GOMAXPROCS parts, each merged on Go's heap by window)."""
    day = 86400 * S
    out = []
    for si in range(20):
        g = "x" if si < 12 else "y"
        for base, n in ((44 * day, 12), (51 * day, 6)):
            for j in range(n):
                if (si * 7 + j * 5 + base // day) % 9 == 4:
                    continue
                if si == 17 and base == 44 * day:
                    continue  # a series with points in the second shard group only
                v = (si * 5 + j * 3 + si * j) % 3
                out.append('ptie,g=%s,h=p%02d v=%di,f=%s,s="%s" %d' % (
                    g, si, v, f2(v / 2), "pq"[(si + j) % 2], base + j * 10 * S))
    return out


def tie_lines():
    """db2.autogen `tie`: six series (g=x: a, b, c; g=y: d, e, f) on one 10 s grid in two
    shard groups, with few distinct values, so that series tie in time and value (which
    series first()/last()/min()/max() report then follows influxd's merge order)."""
    day = 86400 * S
    out = []
    for si, h in enumerate("abcdef"):
        g = "x" if si < 3 else "y"
        for base in (30 * day, 37 * day):
            for j in range(6):
                if (si * 5 + j * 3) % 7 == 6:
                    continue  # a few holes, so the series' windows differ
                v = (si * 3 + j * 5 + base // day) % 4
                out.append('tie,g=%s,h=%s v=%di,s="%s",b=%s %d' % (
                    g, h, v, "pq"[(si + j) % 2], "true" if (si * j) % 3 == 0 else "false",
                    base + j * 10 * S))
    return out


def main():
    lines = [
        "# DDL",
        "CREATE DATABASE db0",
        "CREATE DATABASE db1",
        "CREATE DATABASE db2",
        "CREATE RETENTION POLICY rp2 ON db0 DURATION INF REPLICATION 1",
        "",
        "# DML",
        "# CONTEXT-DATABASE: db0",
        "# CONTEXT-RETENTION-POLICY: autogen",
    ]
    lines += cpu_lines() + mem_lines() + disk_lines() + weather_lines() + dst_lines() + bigint_lines() + precise_lines()
    lines += ["# CONTEXT-DATABASE: db0", "# CONTEXT-RETENTION-POLICY: rp2"] + rp2_lines()
    lines += ["# CONTEXT-DATABASE: db1", "# CONTEXT-RETENTION-POLICY: autogen"] + db1_lines()
    lines += ["# CONTEXT-DATABASE: db2", "# CONTEXT-RETENTION-POLICY: autogen"] + db2_lines()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dataset.lp")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
