#!/usr/bin/env python3
"""The client's floor: median latency of `/ping` and `SHOW DATABASES` on one keep-alive
connection to each server given, with the same Python client query_bench.py uses.

    python3 benches/peer/client_floor.py 29500 29300
"""
import http.client
import statistics
import sys
import time
import urllib.parse

ports = [int(p) for p in sys.argv[1:]] or [8086]
for port in ports:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for path in ("/ping", "/query?q=" + urllib.parse.quote("SHOW DATABASES")):
        times = []
        for _ in range(400):
            start = time.perf_counter()
            conn.request("GET", path)
            conn.getresponse().read()
            times.append(time.perf_counter() - start)
        # The first 50 warm the connection and the server.
        print("%d %-20s %.3f ms" % (port, path[:20], statistics.median(times[50:]) * 1000))
