#!/usr/bin/env python3
"""Records the /query differential corpus from real InfluxDB 1.6.7.

    python3 tests/record_query.py                  # re-record every case file
    python3 tests/record_query.py select_raw where  # only these files (still loads everything)
    python3 tests/record_query.py --check           # record, then replay on a second fresh
                                                    # influxd and list answers that differ
    python3 tests/record_query.py --influxd PATH    # another influxd binary

Python 3 standard library only. It starts a throwaway influxd (default /usr/bin/influxd,
from Debian's `influxdb` package: v1.6.7) on loopback ports in a temporary directory,
loads tests/cases/query/dataset.lp exactly as tests/differential_query.rs does (the `# DDL`
statements one by one as POST /query form `q`, then each `# DML` context as POST
/write?db=..&rp=..&precision=ns in chunks of at most 5000 lines), replays every case file
of tests/cases/query/ in FILES order and rewrites each case's `status`, `content_type`
and `body` from influxd's answer. Everything else on a line (name, method, params,
headers, form, compare) is authored by hand and kept.

Case format (one JSON object per line):
    name          unique within its file
    method        GET, POST (or anything else, for 405s)
    params        string -> string; GET and non-POST: the URL query string; POST: an
                  application/x-www-form-urlencoded body, unless "form": false, in which
                  case they go in the URL query string too
    headers       extra request headers (e.g. {"Accept": "application/csv"})
    compare       exact (default) | unordered | columns | plan | shard_ids | status | text — see
                  tests/differential_query.rs for what each one checks
    status, content_type, body   recorded: body is the parsed JSON (a list of the JSON
                  objects when params.chunked is "true"), or the raw text when the answer
                  is not JSON or compare is "text" ("hex:…" for a MessagePack answer).
                  A "columns" answer longer than 64 KiB
                  is stored as its shape (each "values" list replaced by its length).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases", "query")
DATASET = os.path.join(CASES, "dataset.lp")

# The order files run in; tests/differential_query.rs has the same list. Files that mutate
# (into, ddl) come last and clean up after themselves anyway.
FILES = [
    "select_raw", "where", "aggregates", "selectors", "group_by_time", "fill",
    "group_by_tags", "order_limit", "math", "transformations", "subqueries", "tz",
    "multi_statement", "params", "csv", "msgpack", "show", "explain", "errors", "combinations", "into", "ddl",
]

# The most lines in one /write request while loading the dataset.
CHUNK_LINES = 5000

# Answers longer than this are stored as their shape when the case compares only columns.
BIG_ANSWER = 65536

KEY_ORDER = ["name", "method", "params", "headers", "form", "compare", "status", "content_type", "body"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Influxd:
    """A real influxd on loopback in a temporary directory."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="record-query-")
        self.port = free_port()
        rpc = free_port()
        d = self.dir
        conf = f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
  logging-enabled = false
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[logging]
  level = "error"
  suppress-logo = true
"""
        path = os.path.join(d, "influxdb.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(d, "influxd.log"), "w")
        # GOMAXPROCS fixes where influxd cuts a tag set's series into parts, which decides
        # which of several tied series a selector answers; Tessera's tests run with 2 too.
        self.proc = subprocess.Popen([binary, "-config", path], stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, GOMAXPROCS="2"))
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ping", timeout=2) as r:
                    if r.status == 204:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.close()
        sys.exit("influxd did not answer /ping; its log:\n" + open(os.path.join(d, "influxd.log")).read())

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def http(method, url, body=None, headers=None):
    """(status, content type, body bytes); HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def load_dataset(base):
    """The requests that load dataset.lp; the Rust runner sends the same ones."""
    section, db, rp, lines = None, None, None, []

    def flush():
        nonlocal lines
        for i in range(0, len(lines), CHUNK_LINES):
            chunk = "\n".join(lines[i:i + CHUNK_LINES]).encode()
            q = urllib.parse.urlencode({"db": db, "rp": rp, "precision": "ns"})
            status, _, body = http("POST", f"{base}/write?{q}", chunk)
            if status != 204:
                sys.exit(f"loading {db}.{rp}: {status} {body!r}")
        lines = []

    with open(DATASET, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line == "# DDL" or line == "# DML":
                section = line[2:]
            elif line.startswith("# CONTEXT-DATABASE:"):
                flush()
                db = line.split(":", 1)[1].strip()
            elif line.startswith("# CONTEXT-RETENTION-POLICY:"):
                flush()
                rp = line.split(":", 1)[1].strip()
            elif not line.strip() or line.startswith("#"):
                continue
            elif section == "DDL":
                body = urllib.parse.urlencode({"q": line}).encode()
                status, _, answer = http("POST", f"{base}/query", body,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
                if status != 200 or b'"error"' in answer:
                    sys.exit(f"{line}: {status} {answer!r}")
            else:
                lines.append(line)
    flush()


def request(base, case):
    """Sends one case as the Rust runner does; returns (status, content type, text)."""
    method = case.get("method", "GET")
    params = case.get("params", {})
    headers = dict(case.get("headers", {}))
    query = urllib.parse.urlencode(params)
    body = None
    if method == "POST" and case.get("form", True):
        body = query.encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        url = f"{base}/query"
    else:
        url = f"{base}/query" + (f"?{query}" if query else "")
    status, ctype, raw = http(method, url, body, headers)
    if "msgpack" in ctype:
        # MessagePack is binary: stored (and compared) as hex.
        return status, ctype, "hex:" + raw.hex()
    return status, ctype, raw.decode("utf-8", errors="replace")


def json_stream(text):
    """Every JSON value in `text` (a chunked answer is several), or None if it is not JSON."""
    dec = json.JSONDecoder()
    values, i = [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return values
        try:
            v, i = dec.raw_decode(text, i)
        except ValueError:
            return None
        values.append(v)


def decode(case, ctype, text):
    """The body as stored: JSON when it is JSON, a list when chunked, else the text."""
    if case.get("compare") == "text" or "json" not in ctype or not text.strip():
        return text
    values = json_stream(text)
    if values is None:
        return text
    if case.get("params", {}).get("chunked") == "true" or len(values) != 1:
        return values
    return values[0]


def ordered(case):
    out = {k: case[k] for k in KEY_ORDER if k in case}
    out.update({k: v for k, v in case.items() if k not in out})
    return out


def read_cases(name):
    path = os.path.join(CASES, name + ".jsonl")
    with open(path, encoding="utf-8") as f:
        return path, [json.loads(l) for l in f if l.strip()]


def record(base, names):
    total = 0
    for name in names:
        path, cases = read_cases(name)
        seen = set()
        for case in cases:
            for key in ("params", "headers"):
                if any(not isinstance(v, str) for v in case.get(key, {}).values()):
                    sys.exit(f"{name}/{case['name']}: {key} values must be strings")
            if case["name"] in seen:
                sys.exit(f"{name}: duplicate case name {case['name']!r}")
            seen.add(case["name"])
            status, ctype, text = request(base, case)
            case["status"] = status
            case["content_type"] = ctype
            case["body"] = decode(case, ctype, text)
            if case.get("compare") == "columns" and len(text) > BIG_ANSWER:
                # Only the shape is compared anyway; keep the file small.
                case["body"] = shape(case["body"])
            elif len(text) > BIG_ANSWER:
                print(f"  warning: {name}/{case['name']}: answer is {len(text)} bytes", file=sys.stderr)
        with open(path, "w", encoding="utf-8") as f:
            for case in cases:
                f.write(json.dumps(ordered(case), ensure_ascii=False) + "\n")
        print(f"{name}: {len(cases)} cases")
        total += len(cases)
    print(f"total: {total} cases")


def shape(v):
    """What compare "columns" keeps: everything but the rows' values (and error texts of
    SHOW-style statements stay)."""
    if isinstance(v, list):
        return [shape(x) for x in v]
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            out[k] = (len(x) if isinstance(x, list) else x) if k == "values" else shape(x)
        return out
    return v


def unordered(v):
    if isinstance(v, list):
        return [unordered(x) for x in v]
    if isinstance(v, dict):
        out = {k: unordered(x) for k, x in v.items()}
        if isinstance(out.get("series"), list):
            out["series"] = sorted(out["series"], key=lambda s: json.dumps(s, sort_keys=True))
        if isinstance(out.get("values"), list):
            out["values"] = sorted(out["values"], key=lambda r: json.dumps(r, sort_keys=True))
        return out
    return v


def check(base, names):
    """Replays recorded cases; lists those whose answer changed (nondeterminism)."""
    bad = 0
    for name in names:
        _, cases = read_cases(name)
        for case in cases:
            mode = case.get("compare", "exact")
            status, ctype, text = request(base, case)
            body = decode(case, ctype, text)
            a, b = case["body"], body
            if mode == "status":
                a, b = None, None
            elif mode == "columns":
                a, b = shape(a), shape(b)
            elif mode == "unordered":
                a, b = unordered(a), unordered(b)
            if status != case["status"] or a != b:
                bad += 1
                print(f"DIFFERS {name}/{case['name']}: {case['params'].get('q', '')}\n"
                      f"  first:  {json.dumps(case['body'])[:300]}\n  second: {json.dumps(body)[:300]}")
    print(f"check: {bad} cases answered differently the second time")
    return bad


def main():
    args = sys.argv[1:]
    binary = "/usr/bin/influxd"
    do_check = False
    names = []
    while args:
        a = args.pop(0)
        if a == "--check":
            do_check = True
        elif a == "--influxd":
            binary = args.pop(0)
        elif a in ("-h", "--help"):
            print(__doc__)
            return
        else:
            names.extend(n.strip().removesuffix(".jsonl") for n in a.split(",") if n.strip())
    present = sorted(f[:-6] for f in os.listdir(CASES) if f.endswith(".jsonl"))
    unknown = [f for f in present if f not in FILES]
    if unknown:
        sys.exit(f"case files missing from FILES: {unknown}")
    names = [n for n in FILES if n in (names or FILES) and n in present]
    # SIGTERM unwinds like Ctrl-C, so the throwaway influxd is stopped and removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Only the named files are replayed: every file must stand on its own (the runner's
    # TESSERA_QUERY_CASES filter relies on that too).
    server = Influxd(binary)
    try:
        load_dataset(server.base)
        record(server.base, names)
    finally:
        server.close()
    if do_check:
        server = Influxd(binary)
        try:
            load_dataset(server.base)
            bad = check(server.base, names)
        finally:
            server.close()
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
