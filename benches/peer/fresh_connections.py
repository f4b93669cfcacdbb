#!/usr/bin/env python3
"""Small statements on a new keep-alive connection per host: on a multi-core node each
connection lands on some core (SO_REUSEPORT), so the hosts' medians show both the case
where the series lives on the connection's core and the case where another core owns it.
Prints the median latency of N requests per (statement, host).

    python3 benches/peer/fresh_connections.py PORT [N] [NAMES]

NAMES is a comma-separated subset of: ping, show_meas, card, tv_region, last_1host,
raw_1host, series_1host (all by default). Reads database `bench` of the standard
workload (../shared/peer/gen_lp.py).
"""
import http.client
import statistics
import sys
import time
import urllib.parse

QUERIES = {
    "ping": None,
    "show_meas": "SHOW MEASUREMENTS",
    "card": "SHOW SERIES CARDINALITY",
    "tv_region": 'SHOW TAG VALUES FROM cpu WITH KEY = "region"',
    "last_1host": "SELECT last(usage_user) FROM cpu WHERE host = 'host_%d' AND time >= 0",
    "raw_1host": "SELECT * FROM cpu WHERE host = 'host_%d' AND time >= 0",
    "series_1host": "SHOW SERIES FROM cpu WHERE host = 'host_%d'",
}


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    names = sys.argv[3].split(",") if len(sys.argv) > 3 else list(QUERIES)
    for name in names:
        q = QUERIES[name]
        hosts = (0, 1, 2, 3) if q and "%d" in q else (0,)
        for h in hosts:
            c = http.client.HTTPConnection("127.0.0.1", port)
            if q is None:
                path = "/ping"
            else:
                text = q % h if "%d" in q else q
                path = "/query?" + urllib.parse.urlencode({"db": "bench", "q": text})
            lat = []
            for _ in range(n):
                t0 = time.perf_counter()
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                lat.append(time.perf_counter() - t0)
            c.close()
            print("%s host_%d %.3f ms" % (name, h, statistics.median(lat) * 1000))


if __name__ == "__main__":
    main()
