#!/usr/bin/env python3
"""Records real influxd 1.6.7 answers to InfluxQL into tests/corpus/*.json.

    /work/shared/peer/influxd_peer.sh start /tmp/ql-peer 28186
    python3 dataplane/influxql/tests/gen_corpus.py --url http://127.0.0.1:28186
    /work/shared/peer/influxd_peer.sh stop /tmp/ql-peer

Inputs (one query a line, `\\n` and `\\r` stand for those characters):
  corpus/valid.in, corpus/errors.in   queries; each is sorted by what influxd says:
      parse error  -> errors.json  {"query", "error"}  (text after "error parsing query: ")
      parses       -> valid.json   {"query", "display"?}
  Truncations of the valid queries at every space are added as further bad queries.
  A query is only parsed, never run: influxd is sent `<query>\\n;SELECT`, which fails
  at the end when (and only when) the query itself parsed.
  corpus/cq.in   SELECT statements; each is created as a continuous query and the text
      SHOW CONTINUOUS QUERIES prints back is its "display" (source "influxd").
  corpus/validate.in   SELECTs run against a small database: influxd's error or the
      result columns -> validate.json {"query", "error"} | {"query", "columns"}.
Existing "display" values in valid.json are kept (tests bless the rest, see corpus.rs).

Python 3 stdlib only.
"""
import argparse
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
PREFIX = "error parsing query: "


def read_in(name):
    out = []
    with open(os.path.join(CORPUS, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("##"):
                continue
            out.append(line.replace("\\n", "\n").replace("\\r", "\r"))
    return out


class Influxd:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def query(self, q, db=None, method="POST"):
        data = {"q": q}
        if db:
            data["db"] = db
        body = urllib.parse.urlencode(data).encode()
        try:
            with urllib.request.urlopen(self.url + "/query", data=body) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            return json.loads(e.read().decode())

    def write(self, db, body):
        req = urllib.request.Request(self.url + "/write?db=" + db, data=body.encode())
        urllib.request.urlopen(req).read()

    def parse_error(self, q):
        """influxd's parse error for q (without the prefix), or None if q parses."""
        probe = self.query(q + "\n;SELECT")
        err = probe.get("error", "")
        lines = q.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 2
        if re.fullmatch(
            r"error parsing query: found EOF, expected identifier, string, number, bool "
            r"at line %d, char \d+" % lines,
            err,
        ):
            return None
        # The probe failed earlier: ask for the real text (nothing runs, it fails to parse).
        err = self.query(q).get("error", "")
        if not err.startswith(PREFIX):
            raise SystemExit("unexpected answer for %r: %r" % (q, err))
        return err[len(PREFIX):]


def truncations(q):
    out = []
    for m in re.finditer(r" ", q):
        out.append(q[: m.start()])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    args = ap.parse_args()
    ix = Influxd(args.url)

    old_display = {}
    vpath = os.path.join(CORPUS, "valid.json")
    if os.path.exists(vpath):
        for c in json.load(open(vpath, encoding="utf-8")):
            if "display" in c:
                old_display[c["query"]] = (c["display"], c.get("source"))

    valid_in = read_in("valid.in")
    candidates = valid_in + read_in("errors.in")
    for q in valid_in:
        candidates += truncations(q)
    seen, valid, errors = set(), [], []
    for q in candidates:
        if q in seen:
            continue
        seen.add(q)
        err = ix.parse_error(q)
        if err is None:
            c = {"query": q}
            if q in old_display:
                c["display"], src = old_display[q]
                if src:
                    c["source"] = src
            valid.append(c)
        else:
            errors.append({"query": q, "error": err})

    # Continuous queries: influxd prints them back.
    for q in [
        "CREATE DATABASE db",
        "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 1",
        'CREATE DATABASE "my db"',
        'CREATE RETENTION POLICY "my rp" ON "my db" DURATION 1d REPLICATION 1',
    ]:
        ix.query(q)
    for i, sel in enumerate(read_in("cq.in")):
        name = "cq%d" % i
        q = "CREATE CONTINUOUS QUERY %s ON db BEGIN %s END" % (name, sel)
        res = ix.query(q)
        err = res.get("error") or res["results"][0].get("error")
        if err:
            print("cq refused:", q, "->", err)
            continue
        shown = ix.query("SHOW CONTINUOUS QUERIES")
        text = None
        for s in shown["results"][0].get("series", []):
            for row in s.get("values", []):
                if row[0] == name:
                    text = row[1]
        ix.query("DROP CONTINUOUS QUERY %s ON db" % name)
        valid = [c for c in valid if c["query"] != q]
        valid.append({"query": q, "display": text, "source": "influxd"})

    # SELECT checks and column names against a small database.
    ix.query("DROP DATABASE vdb")
    ix.query("CREATE DATABASE vdb")
    ix.write(
        "vdb",
        "\n".join(
            [
                'cpu,host=a,region=us value=1,i=2i,s="x",b=true 1000000000',
                'cpu,host=b,region=eu value=3,i=4i,s="y",b=false 2000000000',
                "cpu,host=a,region=us value=5,i=6i 61000000000",
                "mem,host=a free=10i,used=2.5 1000000000",
            ]
        ),
    )
    validate = []
    for q in read_in("validate.in"):
        res = ix.query(q, db="vdb")
        if "error" in res:
            validate.append({"query": q, "parse_error": res["error"]})
            continue
        r = res["results"][0]
        if "error" in r:
            validate.append({"query": q, "error": r["error"]})
        else:
            cols = r["series"][0]["columns"] if r.get("series") else None
            validate.append({"query": q, "columns": cols})

    def dump(name, obj):
        with open(os.path.join(CORPUS, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=False)
            f.write("\n")

    dump("errors.json", errors)
    dump("valid.json", valid)
    dump("validate.json", validate)
    print("errors %d, valid %d, validate %d" % (len(errors), len(valid), len(validate)))


if __name__ == "__main__":
    main()
