#!/usr/bin/env python3
"""`ingest_bench.py` of ../shared/peer with a write consistency level.

Same flags as ingest_bench.py, plus `--consistency any|one|quorum|all` (added to every
/write). Used by `benches/cluster/run.sh` to measure the cost of each level.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.environ.get("PEER_DIR", os.path.join(HERE, "..", "..", "..", "shared", "peer"))
sys.path.insert(0, PEER)

import benchlib  # noqa: E402
import ingest_bench  # noqa: E402


def main():
    level = None
    argv = []
    args = iter(sys.argv[1:])
    for a in args:
        if a == "--consistency":
            level = next(args)
        elif a.startswith("--consistency="):
            level = a.split("=", 1)[1]
        else:
            argv.append(a)
    if level:
        cls = next(
            c for c in vars(benchlib).values() if isinstance(c, type) and hasattr(c, "write_path")
        )
        original = cls.write_path

        def write_path(self, db, precision="ns", rp=None, consistency=None):
            return original(self, db, precision=precision, rp=rp, consistency=level)

        cls.write_path = write_path
    sys.argv = [sys.argv[0]] + argv
    ingest_bench.main()


if __name__ == "__main__":
    main()
