#!/usr/bin/env python3
"""Records real influxd 1.6.7 answers to line-protocol bodies into tests/corpus/influxd.json.

Each case is written into a fresh database; the recording holds the HTTP status, the
response body, and what influxd then stores (SHOW SERIES, and per measurement the points of
SELECT * GROUP BY * with field types from SHOW FIELD KEYS). tests/corpus.rs replays them
without influxd.

    /work/shared/peer/influxd_peer.sh start /tmp/lp-peer 28086
    python3 dataplane/lineproto/tests/gen_corpus.py --url http://127.0.0.1:28086
    /work/shared/peer/influxd_peer.sh stop /tmp/lp-peer

Python 3 stdlib only.
"""
import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request

T = b" 1000000000"  # a timestamp suffix


def cases():
    """(name, body bytes, precision or None)."""
    c = []

    def add(name, body, precision=None):
        c.append((name, body if isinstance(body, bytes) else body.encode(), precision))

    # --- basics
    add("simple", b"cpu value=1" + T)
    add("no_timestamp", b"cpu value=1")
    add("tags_and_fields", b"cpu,host=a,region=b f=1.5,i=2i,s=\"x\",b=t" + T)
    add("tags_unsorted", b"cpu,z=1,b=2,a=3 v=1" + T)
    add("many_lines", b"cpu v=1 1\ncpu v=2 2\nmem,h=x free=3i 3\n")
    add("empty_body", b"")
    add("only_newlines", b"\n\n\n")
    add("only_blanks", b"   \n\t\n")
    add("comment_only", b"# hello\n")
    add("comment_and_point", b"# hello world\ncpu v=1" + T)
    add("indented_comment", b"   # x=1 \"y\ncpu v=1" + T)
    add("comment_with_quote_spanning", b"# a=1 \"q\ncpu v=1 1\n\"\ncpu v=2 2")
    add("leading_spaces", b"   cpu v=1" + T)
    add("leading_tab", b"\tcpu v=1" + T)
    add("leading_nul", b"\x00cpu v=1" + T)
    add("trailing_spaces", b"cpu v=1" + T + b"   ")
    add("trailing_spaces_no_ts", b"cpu v=1   ")
    add("trailing_tab_no_ts", b"cpu v=1 \t")
    add("trailing_tab_after_ts", b"cpu v=1" + T + b"\t")
    add("crlf_with_ts", b"cpu v=1 1\r\ncpu v=2 2\r\n")
    add("crlf_no_ts_float", b"cpu v=1\r\n")
    add("crlf_no_ts_int", b"cpu v=1i\r\n")
    add("crlf_no_ts_bool", b"cpu v=t\r\n")
    add("crlf_no_ts_string", b"cpu v=\"x\"\r\n")
    add("cr_only_separator", b"cpu v=1 1\rcpu v=2 2")
    add("double_space_before_fields", b"cpu  v=1" + T)
    add("double_space_before_ts", b"cpu v=1  1000")
    add("tab_before_ts", b"cpu v=1 \t1000")
    add("tab_between_fields_and_ts", b"cpu v=1\t1000")
    add("tab_after_measurement", b"cpu\tv=1" + T)
    add("no_trailing_newline_then_bad", b"cpu v=1 1\nbad")
    # --- measurement / key errors
    add("missing_fields", b"cpu")
    add("measurement_space", b"cpu ")
    add("missing_measurement", b",host=a v=1")
    add("missing_measurement_space", b" ,host=a v=1")
    add("missing_tag_key_comma_space", b"cpu, v=1")
    add("missing_tag_key_eq", b"cpu,=a v=1")
    add("missing_tag_key_trailing_comma", b"cpu,a=b, v=1")
    add("missing_tag_key_double_comma", b"cpu,a=b,,c=d v=1")
    add("missing_tag_value_no_eq", b"cpu,host v=1")
    add("missing_tag_value_empty", b"cpu,host= v=1")
    add("missing_tag_value_comma", b"cpu,host=,a=b v=1")
    add("missing_tag_value_end", b"cpu,host")
    add("tag_then_end", b"cpu,host=a")
    add("invalid_tag_format", b"cpu,host=a=b v=1")
    add("tag_value_starts_with_eq", b"cpu,host==b v=1" + T)
    add("tag_value_escaped_eq", b"cpu,host=\\=b v=1" + T)
    add("duplicate_tags", b"cpu,a=1,a=2 v=1")
    add("duplicate_tags_unsorted", b"cpu,b=1,a=1,b=2 v=1")
    add("duplicate_tags_same_value", b"cpu,a=1,a=1 v=1")
    add("tags_sorted_prefix", b"cpu,ab=1,a=2 v=1" + T)
    add("tag_key_time", b"cpu,time=1 v=1" + T)
    add("tag_key_time_and_other", b"cpu,host=a,time=1 v=1" + T)
    add("measurement_time", b"time v=1" + T)
    add("measurement_with_eq", b"c=pu v=1" + T)
    add("measurement_with_quote", b"c\"pu v=1" + T)
    add("measurement_hash_inside", b"c#pu v=1" + T)
    add("measurement_unicode", "cpü,hôst=ä v=1 1000000000".encode())
    add("measurement_backslash_first", b"\\cpu v=1" + T)
    add("measurement_backslash_end", b"cpu\\ v=1" + T)
    add("measurement_double_backslash_space", b"cpu\\\\ v=1" + T)
    add("measurement_trailing_backslash", b"cpu\\")
    # --- escapes in keys
    add("esc_measurement_space", b"c\\ pu v=1" + T)
    add("esc_measurement_comma", b"c\\,pu v=1" + T)
    add("esc_measurement_eq", b"c\\=pu v=1" + T)
    add("esc_measurement_quote", b"c\\\"pu v=1" + T)
    add("esc_measurement_other", b"c\\xpu v=1" + T)
    add("esc_measurement_all", b"m\\ 1\\=x\\,y\\\"z v=1" + T)
    add("esc_tag_key_space", b"cpu,ho\\ st=a v=1" + T)
    add("esc_tag_key_eq", b"cpu,ho\\=st=a v=1" + T)
    add("esc_tag_key_comma", b"cpu,ho\\,st=a v=1" + T)
    add("esc_tag_key_quote", b"cpu,ho\\\"st=a v=1" + T)
    add("esc_tag_value_space", b"cpu,host=a\\ b v=1" + T)
    add("esc_tag_value_comma", b"cpu,host=a\\,b v=1" + T)
    add("esc_tag_value_eq", b"cpu,host=a\\=b v=1" + T)
    add("esc_tag_value_quote", b"cpu,host=a\\\"b v=1" + T)
    add("esc_tag_value_backslash", b"cpu,host=a\\\\b v=1" + T)
    add("esc_tag_value_trailing_backslash_space", b"cpu,host=a\\ v=1")
    add("esc_tag_order", b"m2,z=1,a\\ b=2,a!=3 v=1" + T)
    add("esc_field_key_space", b"cpu f\\ k=1" + T)
    add("esc_field_key_comma", b"cpu f\\,k=1" + T)
    add("esc_field_key_eq", b"cpu f\\=k=1" + T)
    add("esc_field_key_quote", b"cpu f\\\"k=1" + T)
    add("esc_field_key_backslash_eq", b"cpu a\\\\=1" + T)
    add("esc_field_key_backslash_eq_second", b"cpu a=1,b\\\\=2" + T)
    add("esc_field_key_backslash_other", b"cpu f\\xk=1" + T)
    add("field_key_quote", b"cpu f\"k=1" + T)
    add("field_key_leading_quote", b"cpu \"a=1" + T)
    add("field_key_time", b"cpu time=1" + T)
    add("field_key_time_and_other", b"cpu time=1,v=2" + T)
    add("field_key_after_tab", b"cpu \t=1" + T)
    # --- field errors
    add("missing_field_value", b"cpu value=")
    add("missing_field_value_comma", b"cpu v=,w=1")
    add("missing_field_value_space", b"cpu v= 1")
    add("missing_field_key", b"cpu =1")
    add("missing_field_key_second", b"cpu v=1,=2")
    add("missing_field_key_escaped_space_ok", b"cpu a\\ =1" + T)
    add("invalid_field_format_no_eq", b"cpu v")
    add("invalid_field_format_trailing_comma", b"cpu v=1,")
    add("invalid_field_format_missing_second", b"cpu v=1,w")
    add("invalid_field_format_double_comma", b"cpu v=1,,w=2")
    add("invalid_field_format_leading_comma", b"cpu ,v=1")
    add("fields_after_space_become_ts", b"cpu v=1 w=2")
    add("two_fieldsets", b"cpu v=1 w=2 1000")
    add("ts_then_garbage", b"cpu v=1 1000 x")
    add("ts_twice", b"cpu v=1 1000 2000")
    add("duplicate_fields_same_type", b"cpu v=1,v=2" + T)
    add("duplicate_fields_diff_type", b"cpu v=1,v=2i" + T)
    add("duplicate_fields_three", b"cpu v=1,w=1i,v=3" + T)
    # --- numbers
    for v in ["0", "-0", "1", "-1", "1.5", "-1.5", ".5", "-.5", "5.", "00012", "1e3", "1E3",
              "1e+3", "1e-3", "-1.5e-3", "1.e5", ".5e1", "1.7976931348623157e308",
              "4.9e-324", "1e-400", "0e99999999999999999999", "123456789012345678901234567890",
              "0.1000000000000000055511151231257827", "9007199254740993"]:
        add("float_" + v, b"cpu v=" + v.encode() + T)
    for v in ["1e400", "-1e400", "1e", "1e+", "1ee5", "1e5e5", "1e5.5", "-e5", "1" * 400]:
        add("float_bad_" + v[:12], b"cpu v=" + v.encode() + T)
    for v in ["1.1.1", ".", "-", "-.", "--1", "1-", "1+", "+1", "1_000", "0x10", "1a", "NaN",
              "nan", "NaNx", "n", "N", "Inf", "inf", "-Inf", "infinity", "1,", "1\"", "1.5i", "1e5i",
              "1i2", "1ii", "1iu", "-i", "i", "1u", "0u", "-1u", "18446744073709551615u", "1.5u"]:
        add("num_bad_" + v, b"cpu v=" + v.encode() + T)
    for v in ["0i", "-0i", "1i", "-1i", "9223372036854775807i", "-9223372036854775808i",
              "0009223372036854775807i"]:
        add("int_" + v, b"cpu v=" + v.encode() + T)
    for v in ["9223372036854775808i", "-9223372036854775809i", "99999999999999999999i",
              "-99999999999999999999i"]:
        add("int_range_" + v, b"cpu v=" + v.encode() + T)
    # --- booleans
    for v in ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]:
        add("bool_" + v, b"cpu v=" + v.encode() + T)
    for v in ["tRUE", "tru", "truee", "yes", "y", "1b", "falsy", "FaLsE", "fals", "t\\ ", "abc"]:
        add("bool_bad_" + v, b"cpu v=" + v.encode() + T)
    # --- strings
    add("str_empty", b"cpu v=\"\"" + T)
    add("str_space_comma_eq", b"cpu v=\"a b,c=d\"" + T)
    add("str_escaped_quote", b"cpu v=\"a\\\"b\"" + T)
    add("str_escaped_backslash", b"cpu v=\"a\\\\b\"" + T)
    add("str_trailing_escaped_backslash", b"cpu v=\"a\\\\\"" + T)
    add("str_other_escape", b"cpu v=\"a\\nb\\,c\"" + T)
    add("str_newline", b"cpu v=\"a\nb\"" + T + b"\ncpu w=2" + T)
    add("str_crlf_inside", b"cpu v=\"a\r\nb\"" + T)
    add("str_unbalanced", b"cpu v=\"abc")
    add("str_unbalanced_end_newline", b"cpu v=\"abc\n")
    add("str_unbalanced_escaped", b"cpu v=\"a\\\\\\\"x" + T)
    add("str_after_close_garbage", b"cpu v=\"a\"x" + T)
    add("str_empty_then_garbage", b"cpu v=\"\"x" + T)
    add("str_then_field", b"cpu v=\"a\",w=1" + T)
    add("str_unicode", "cpu v=\"héllo ☃\"".encode() + T)
    add("str_hash", b"cpu v=\"#x\"" + T)
    add("str_long", b"cpu v=\"" + b"x" * 70000 + b"\"" + T)
    add("str_quote_in_key_then_value", b"cpu \"k\"=\"v\"" + T)
    add("str_single_quotes", b"cpu v='a'" + T)
    add("str_multiline_then_bad", b"cpu v=\"a\nb\" 1\nbad\ncpu v=2 2")
    add("str_eq_after_close", b"cpu a=\"x\"=2,b,c=3" + T)
    # --- timestamps
    for ts in ["0", "-1", "-0", "1", "1577836800000000000", "9223372036854775806",
               "-9223372036854775806", "00000001"]:
        add("ts_" + ts, b"cpu v=1 " + ts.encode())
    for ts in ["9223372036854775807", "-9223372036854775807", "-9223372036854775808",
               "9223372036854775808", "99999999999999999999", "-", "--1", "1-", "1.5", "1e9",
               "abc", "+1", "0x10", "1a"]:
        add("ts_bad_" + ts, b"cpu v=1 " + ts.encode())
    # --- precision
    for p in ["n", "u", "us", "ms", "s", "m", "h", "ns", "x", "µ"]:
        add("precision_" + p, b"cpu v=1 2", p)
    add("precision_s_overflow", b"cpu v=1 9223372037", "s")
    add("precision_h_max", b"cpu v=1 2562047", "h")
    add("precision_h_overflow", b"cpu v=1 2562048", "h")
    add("precision_ms_negative", b"cpu v=1 -5", "ms")
    # --- max key length
    add("max_key_ok", b"x" * 65530 + b" v=1" + T)
    add("max_key_field_over", b"x" * 65530 + b" vv=1" + T)
    add("max_key_key_over", b"cpu,t=" + b"x" * 65530 + b" v=1" + T)
    add("max_key_exact", b"cpu,t=" + b"x" * 65529 + b" v=1" + T)
    add("max_key_second_field_over", b"x" * 65528 + b" a=1,bbbb=2" + T)
    # --- bytes that are not UTF-8
    add("invalid_utf8_bad_line", b"c\xffpu\xf0\x9f v")
    add("invalid_utf8_good_line", b"c\xffpu v=1" + T)
    add("nul_in_measurement", b"cp\x00u v=1" + T)
    # --- several lines, partial writes
    add("partial_one_bad", b"cpu v=1 1\ncpu v= 2\ncpu v=3 3")
    add("partial_all_bad", b"cpu v=\ncpu\n,x v=1")
    add("partial_bad_and_conflict", b"cpu v=1 1\ncpu v=2i 2\nbad")
    add("partial_bad_first", b"bad\ncpu v=1 1")
    add("blank_lines_between", b"cpu v=1 1\n\n\n   \ncpu v=2 2\n")
    add("escaped_newline", b"cpu\\\nx v=1" + T)
    add("escaped_newline_in_field_key", b"cpu a\\\nb=1" + T)
    add("backslash_at_end", b"cpu v=1 1\\")
    add("same_series_two_spellings", b"cpu,t==x v=1 1\ncpu,t=\\=x w=2 2")
    add("overwrite_same_time", b"cpu v=1 5\ncpu v=2 5\ncpu w=3 5")
    return c


def request(base, method, path, body=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def query(base, db, q):
    st, body = request(base, "POST", "/query?" + urllib.parse.urlencode(
        {"db": db, "q": q, "epoch": "ns"}))
    out = json.loads(body)
    res = out.get("results", [{}])[0]
    if st != 200 or "error" in res or "error" in out:
        raise RuntimeError(f"{q}: {st} {body!r}")
    return res.get("series", [])


def ident(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def stored(base, db):
    series = [v[0] for s in query(base, db, "SHOW SERIES") for v in s["values"]]
    points = []
    unreadable = []
    for s in query(base, db, "SHOW MEASUREMENTS"):
        for (m,) in s["values"]:
            try:
                got = measurement_points(base, db, m)
            except RuntimeError:
                got = []
            if not got:
                # InfluxQL cannot name it (e.g. a NUL byte); SHOW SERIES still lists it.
                unreadable.append(m)
            points.extend(got)
    return series, points, unreadable


def measurement_points(base, db, m):
    points = []
    types = {k: t for s2 in query(base, db, f"SHOW FIELD KEYS FROM {ident(m)}")
             for k, t in s2["values"]}
    for s2 in query(base, db, f"SELECT * FROM {ident(m)} GROUP BY *"):
        tags = {k: v for k, v in s2.get("tags", {}).items() if v != ""}
        cols = s2["columns"]
        for row in s2["values"]:
            fields = {}
            for col, val in zip(cols[1:], row[1:]):
                if val is None:
                    continue
                t = types.get(col, "?")
                if t == "float":
                    val = repr(float(val))
                elif t == "boolean":
                    val = "true" if val else "false"
                else:
                    val = str(val)
                fields[col] = [t, val]
            points.append({"measurement": s2["name"], "tags": tags,
                           "time": row[0], "fields": fields})
    return points


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:28086")
    ap.add_argument("--inputs-dir", help="record the files of this directory (e.g. a fuzz "
                    "corpus) instead of the built-in cases")
    ap.add_argument("--max-inputs", type=int, default=1000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus",
                                                  "influxd.json"))
    args = ap.parse_args()
    base = args.url.rstrip("/")
    st, _ = request(base, "GET", "/ping")
    version = None
    with urllib.request.urlopen(base + "/ping") as r:
        version = r.headers.get("X-Influxdb-Version")
    out = []
    names = set()
    todo = cases()
    if args.inputs_dir:
        files = sorted(os.listdir(args.inputs_dir))[:args.max_inputs]
        todo = [(f, open(os.path.join(args.inputs_dir, f), "rb").read(), None) for f in files]
    for n, (name, body, precision) in enumerate(todo):
        assert name not in names, name
        names.add(name)
        db = f"corpus{n}"
        query(base, db, f"DROP DATABASE {db}")
        query(base, db, f"CREATE DATABASE {db}")
        params = {"db": db}
        if precision is not None:
            params["precision"] = precision
        status, resp = request(base, "POST", "/write?" + urllib.parse.urlencode(params), body)
        series, points, unreadable = stored(base, db)
        query(base, db, f"DROP DATABASE {db}")
        case = {"name": name}
        try:
            case["input"] = body.decode("utf-8")
        except UnicodeDecodeError:
            case["input_hex"] = body.hex()
        case.update({"precision": precision, "status": status,
                     "body": resp.decode("utf-8", "replace"),
                     "series": series, "points": points})
        if unreadable:
            case["unreadable_measurements"] = unreadable
        out.append(case)
        print(f"{name}: {status} {resp[:120]!r}")
    doc = {"influxd_version": version,
           "note": "Recorded by tests/gen_corpus.py from a real influxd; do not edit by hand.",
           "cases": out}
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(out)} cases -> {args.out}")


if __name__ == "__main__":
    main()
