#!/usr/bin/env python3
"""Statements beyond query_bench.py's 31, over the same workload: large raw answers (also
chunked), many groups or windows, the slice functions, transformations, subqueries, large
SHOW answers. Each runs R times on every server in turn (interleaved); prints the median
time per server, the ratio to the first server and whether the answers are the same.

    R=3 python3 benches/peer/heavy_queries.py PORT PORT... [--only name,name]

The servers must hold the workload in database `bench` (see docs/benchmarks.md).
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse
import os

T0 = "'2020-01-01T00:00:00Z'"
T1 = "'2020-01-01T00:20:00Z'"
RANGE = "time >= %s AND time < %s" % (T0, T1)
QUERIES = [
    ("raw_all", "SELECT * FROM cpu", {}),
    ("raw_all_chunked", "SELECT * FROM cpu", {"chunked": "true"}),
    ("raw_one_field", "SELECT usage_user FROM cpu", {}),
    ("raw_field_filter", "SELECT usage_user, host FROM cpu WHERE usage_user > 99", {}),
    ("raw_desc_limit_by_host", "SELECT usage_user FROM cpu GROUP BY host ORDER BY time DESC LIMIT 1", {}),
    ("raw_group_star_limit", "SELECT * FROM cpu GROUP BY * LIMIT 1", {}),
    ("mean_star_1m", "SELECT mean(*) FROM cpu WHERE %s GROUP BY time(1m)" % RANGE, {}),
    ("count_by_host", "SELECT count(usage_user) FROM cpu GROUP BY host", {}),
    ("max_10s_all", "SELECT max(usage_user) FROM cpu WHERE %s GROUP BY time(10s)" % RANGE, {}),
    ("count_1s_fill0", "SELECT count(usage_user) FROM cpu WHERE %s GROUP BY time(1s) fill(0)" % RANGE, {}),
    ("sum_1m_region", "SELECT sum(uptime) FROM cpu WHERE %s GROUP BY time(1m), region" % RANGE, {}),
    ("distinct_status", "SELECT distinct(status) FROM cpu", {}),
    ("median_by_region", "SELECT median(usage_user) FROM cpu GROUP BY region", {}),
    ("stddev_all", "SELECT stddev(usage_user) FROM cpu", {}),
    ("spread_by_host", "SELECT spread(usage_user) FROM cpu GROUP BY host", {}),
    ("mode_status", "SELECT mode(status) FROM cpu", {}),
    ("percentile_by_host", "SELECT percentile(usage_user, 99) FROM cpu GROUP BY host", {}),
    ("top_host_5", "SELECT top(usage_user, host, 5) FROM cpu", {}),
    ("integral_by_host", "SELECT integral(usage_user) FROM cpu GROUP BY host", {}),
    ("last_star_group_star", "SELECT last(*) FROM cpu GROUP BY *", {}),
    ("first_all", "SELECT first(usage_user) FROM cpu", {}),
    ("max_with_tag", "SELECT max(usage_user), host FROM cpu", {}),
    ("max_with_tag_by_region_1m",
     "SELECT max(usage_user), host FROM cpu WHERE %s GROUP BY time(1m), region" % RANGE, {}),
    ("derivative_by_host", "SELECT derivative(usage_user, 10s) FROM cpu WHERE region = 'us-west-1' GROUP BY host", {}),
    ("moving_avg_mean_by_host",
     "SELECT moving_average(mean(usage_user), 3) FROM cpu WHERE %s GROUP BY time(1m), host" % RANGE, {}),
    ("subquery_mean_5m",
     "SELECT mean(usage_user) FROM (SELECT usage_user FROM cpu WHERE region = 'us-west-1') "
     "WHERE %s GROUP BY time(5m)" % RANGE, {}),
    ("subquery_max_of_count",
     "SELECT max(c) FROM (SELECT count(usage_user) AS c FROM cpu WHERE %s GROUP BY time(1m), host)" % RANGE, {}),
    ("subquery_max_of_count_unbounded",
     "SELECT max(c) FROM (SELECT count(usage_user) AS c FROM cpu GROUP BY time(1m), host)", {}),
    ("math_two_fields", "SELECT usage_user + usage_system FROM cpu WHERE region = 'us-west-1'", {}),
    ("show_series", "SHOW SERIES", {}),
    ("show_series_where", "SHOW SERIES WHERE region = 'us-west-1'", {}),
    ("show_tag_values_host", "SHOW TAG VALUES WITH KEY = host", {}),
    ("show_series_cardinality_by_m", "SHOW SERIES EXACT CARDINALITY FROM cpu", {}),
]

args = sys.argv[1:]
only = None
if "--only" in args:
    i = args.index("--only")
    only = set(args[i + 1].split(","))
    del args[i : i + 2]
ports = [int(p) for p in args]
rounds = int(os.environ.get("R", 3))
conns = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=600) for p in ports}


def run(port, q, extra):
    params = {"db": "bench", "q": q}
    params.update(extra)
    c = conns[port]
    start = time.perf_counter()
    c.request("GET", "/query?" + urllib.parse.urlencode(params))
    r = c.getresponse()
    body = r.read()
    return time.perf_counter() - start, r.status, body


def close(a, b):
    """Equal JSON, floats within a relative 1e-9 (summation order differs)."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return a == b


def parse(body):
    # Chunked answers are JSON objects one after the other, one per line.
    return [json.loads(line) for line in body.splitlines() if line.strip()]


print("%-32s %s  ratios  same" % ("query", "  ".join("%10d" % p for p in ports)))
for name, q, extra in QUERIES:
    if only and name not in only:
        continue
    times = {p: [] for p in ports}
    answers = {}
    for _ in range(rounds):
        for p in ports:
            dt, status, body = run(p, q, extra)
            times[p].append(dt)
            answers[p] = (status, body)
    med = [statistics.median(times[p]) * 1000 for p in ports]
    ratios = " ".join("%.2f" % (m / med[0]) for m in med[1:])
    first = answers[ports[0]]
    if all(a == first for a in answers.values()):
        same = "yes"
    elif all(a[0] == first[0] and close(parse(a[1]), parse(first[1])) for a in answers.values()):
        same = "yes (floats within 1e-9)"
    else:
        same = "NO"
    print("%-32s %s  %s  %s" % (name, "  ".join("%10.2f" % m for m in med), ratios, same), flush=True)
