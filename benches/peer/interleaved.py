#!/usr/bin/env python3
"""Interleaved medians of query_bench.py's queries on several servers: for each query,
R rounds, each sending N requests to every server in turn on one keep-alive connection
per server; prints the median of the rounds' medians and the ratios to the first server.

    N=30 R=3 python3 benches/peer/interleaved.py NAMES|all PORT... [--workload DIR]

NAMES is a comma-separated list of query_bench.py query names; the workload defaults to
/tmp/bench/w10k (the one the servers were loaded with); the database is `bench`.
"""
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../shared/peer"))
import query_bench as qb  # noqa: E402

args = sys.argv[1:]
workload = "/tmp/bench/w10k"
if "--workload" in args:
    i = args.index("--workload")
    workload = args[i + 1]
    del args[i : i + 2]
manifest = json.load(open(os.path.join(workload, "manifest.json")))
queries = dict((name, q) for name, q, _ in qb.render(manifest))
names = list(queries) if args[0] == "all" else args[0].split(",")
ports = [int(p) for p in args[1:]]
n = int(os.environ.get("N", 50))
rounds = int(os.environ.get("R", 5))
conns = {p: http.client.HTTPConnection("127.0.0.1", p) for p in ports}


def request(port, q):
    c = conns[port]
    c.request("GET", "/query?db=bench&epoch=ns&q=" + urllib.parse.quote(q))
    r = c.getresponse()
    return r.status, r.read()


print("%-40s" % "query" + "".join("%12d" % p for p in ports) + "   ratios")
for name in names:
    q = queries[name]
    medians = {p: [] for p in ports}
    for p in ports:
        request(p, q)
    for _ in range(rounds):
        for p in ports:
            times = []
            for _ in range(n):
                start = time.perf_counter()
                request(p, q)
                times.append(time.perf_counter() - start)
            medians[p].append(statistics.median(times))
    ms = [statistics.median(medians[p]) * 1000 for p in ports]
    ratios = " ".join("%.2f" % (x / ms[0]) for x in ms[1:])
    print("%-40s" % name + "".join("%12.3f" % x for x in ms) + "   " + ratios, flush=True)
