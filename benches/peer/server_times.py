#!/usr/bin/env python3
"""Server-side time of statements on two 1.x servers side by side: each statement runs N
times on each (after one warm-up), and the time is what the server itself counted for it
(`/debug/vars` `queryExecutor.queryDurationNs`), so the client's own cost is left out.
Prints the median per server, their ratio (second / first) and whether the answers match.

    N=7 python3 benches/peer/server_times.py FIRST_PORT SECOND_PORT DB FILE

FILE holds one statement per line (`benches/peer/queries/*.txt`).
"""
import http.client
import json
import os
import statistics
import sys
import urllib.parse


def main():
    first, second, db, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    runs = int(os.environ.get("N", "5"))
    statements = [l.strip() for l in open(path) if l.strip() and not l.startswith("#")]
    conns = {p: http.client.HTTPConnection("127.0.0.1", p) for p in (first, second)}

    def get(port, target):
        c = conns[port]
        c.request("GET", target)
        r = c.getresponse()
        return r.read()

    def executor(port):
        v = json.loads(get(port, "/debug/vars"))["queryExecutor"]["values"]
        return v["queryDurationNs"], v["queriesFinished"]

    print("%10s %10s %6s  %s" % ("first", "second", "ratio", "statement"))
    for q in statements:
        target = "/query?db=%s&q=%s" % (urllib.parse.quote(db), urllib.parse.quote(q))
        medians, bodies = {}, {}
        for port in (first, second):
            bodies[port] = json.loads(get(port, target))
            times = []
            for _ in range(runs):
                a = executor(port)
                get(port, target)
                b = executor(port)
                times.append((b[0] - a[0]) / max(1, b[1] - a[1]) / 1e6)
            medians[port] = statistics.median(times)
        ratio = medians[second] / medians[first] if medians[first] else float("nan")
        same = "" if bodies[first] == bodies[second] else "  (answers differ)"
        print("%8.2f ms %8.2f ms %5.2fx  %s%s" % (medians[first], medians[second], ratio, q, same))


if __name__ == "__main__":
    main()
