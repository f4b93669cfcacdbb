#!/usr/bin/env python3
"""Writes one long series into database `big` of each server: measurement `m`, tag
host=a, a float `v` (n mod 977 + .5) and an integer `w` (n), one point a second from
2020-09-13T12:26:40Z, in batches of 10,000 lines.

    python3 benches/peer/one_series.py POINTS PORT [PORT...]
"""
import sys
import urllib.request


def main():
    points, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
    t0 = 1_600_000_000 * 10**9
    for port in ports:
        base = "http://127.0.0.1:%d" % port
        urllib.request.urlopen(urllib.request.Request(base + "/query?q=CREATE+DATABASE+big", method="POST"))
        for start in range(0, points, 10_000):
            lines = [
                "m,host=a v=%d.5,w=%di %d" % (n % 977, n, t0 + n * 10**9)
                for n in range(start, min(points, start + 10_000))
            ]
            req = urllib.request.Request(base + "/write?db=big", data="\n".join(lines).encode(), method="POST")
            assert urllib.request.urlopen(req).status == 204


if __name__ == "__main__":
    main()
