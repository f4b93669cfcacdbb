#!/usr/bin/env python3
"""Regenerate tests/corpus/*.json from a real InfluxDB 1.6.7.

Usage: gen_corpus.py [--url http://127.0.0.1:8086]

Every case writes its input points into its own measurement of a scratch
database, runs the InfluxQL query, and records influxd's answer. When the
answer has rows it also re-runs the query with `INTO` and reads the output
field's type back with SHOW FIELD KEYS, because the JSON encoding cannot tell
2 (integer) from 2.0 (float).

Start a throwaway influxd first (see SEMANTICS.md, "Regenerating the corpus").
"""
import argparse
import json
import os
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

DB = "fncorpus"
S = 1_000_000_000  # one second in ns
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- datasets

def ts(secs):
    return [int(x * S) for x in secs]


def series(tags, fields, points):
    """points: list of (time_ns, [value per field])"""
    return {"tags": tags, "points": [[t, vals] for t, vals in points]}


def one(field_type, times, values, tags=None):
    return [series(tags or {}, None, list(zip(times, [[v] for v in values])))]


def rnd_floats(n, seed, lo=-50, hi=50):
    r = random.Random(seed)
    return [round(r.uniform(lo, hi), 2) for _ in range(n)]


def rnd_ints(n, seed, lo=-50, hi=50):
    r = random.Random(seed)
    return [r.randint(lo, hi) for _ in range(n)]


T12 = ts(range(0, 120, 10))               # 12 points, 10 s apart
T_IRREG = ts([0, 3, 7, 10, 11, 25, 26, 40, 58, 59, 61, 75, 90, 99, 118])

FLOAT_A = [3.5, -1.25, 7.0, 7.0, 2.5, 0.0, -8.75, 12.5, 7.0, 1.0, -1.25, 4.0]
INT_A = [3, -1, 7, 7, 2, 0, -8, 12, 7, 1, -1, 4]
FLOAT_IRREG = [1.5, 2.0, 4.5, 3.0, 3.0, 10.0, 2.0, -5.5, 6.0, 6.0, 0.25, 8.0, 9.5, 1.0, 2.0]
INT_IRREG = [1, 2, 4, 3, 3, 10, 2, -5, 6, 6, 0, 8, 9, 1, 2]
STR_A = ["b", "a", "c", "a", "b", "b", "d", "a", "c", "e", "a", "b"]
BOOL_A = [True, False, False, True, True, False, True, False, False, False, True, True]


def two_hosts(vals_a, vals_b, ta, tb):
    return [
        series({"host": "a"}, None, list(zip(ta, [[v] for v in vals_a]))),
        series({"host": "b"}, None, list(zip(tb, [[v] for v in vals_b]))),
    ]


def datasets():
    d = {}
    d["float"] = ("float", one("float", T12, FLOAT_A))
    d["integer"] = ("integer", one("integer", T12, INT_A))
    d["float_irreg"] = ("float", one("float", T_IRREG, FLOAT_IRREG))
    d["integer_irreg"] = ("integer", one("integer", T_IRREG, INT_IRREG))
    d["string"] = ("string", one("string", T12, STR_A))
    d["boolean"] = ("boolean", one("boolean", T12, BOOL_A))
    # Two series, partly overlapping times (never the same time in both: the
    # order of equal-time points from different series is influxd's heap order).
    tb = ts([5, 15, 20.5, 35, 47, 52, 65, 80, 95, 101])
    d["float_2h"] = ("float", two_hosts(FLOAT_A, rnd_floats(10, 7), T12, tb))
    d["integer_2h"] = ("integer", two_hosts(INT_A, rnd_ints(10, 8), T12, tb))
    d["string_2h"] = ("string", two_hosts(STR_A, ["x", "a", "zz", "a", "m", "x", "x", "b", "a", "q"], T12, tb))
    d["boolean_2h"] = ("boolean", two_hosts(BOOL_A, [True, True, False, True, False, True, True, True, False, False], T12, tb))
    d["float_rand"] = ("float", one("float", ts(range(0, 300, 3)), rnd_floats(100, 1)))
    d["integer_rand"] = ("integer", one("integer", ts(range(0, 300, 3)), rnd_ints(100, 2, -5, 5)))
    d["float_one"] = ("float", one("float", ts([42]), [2.5]))
    d["integer_one"] = ("integer", one("integer", ts([42]), [-7]))
    d["float_two"] = ("float", one("float", ts([10, 30]), [1.0, 4.0]))
    d["integer_const"] = ("integer", one("integer", ts(range(0, 60, 5)), [4] * 12))
    d["float_const"] = ("float", one("float", ts(range(0, 60, 5)), [-2.5] * 12))
    d["integer_big"] = ("integer", one("integer", ts([0, 1, 2, 3]),
                                       [9223372036854775807, 1, 9223372036854775806, -5]))
    d["integer_ties"] = ("integer", one("integer", ts(range(0, 40, 2)),
                                        [5, 1, 5, 3, 3, 1, 9, 9, 1, 3, 5, 9, 2, 2, 2, 7, 7, 7, 1, 0]))
    d["float_ties"] = ("float", one("float", ts(range(0, 40, 2)),
                                    [5.5, 1, 5.5, 3, 3, 1, 9, 9, 1, 3, 5.5, 9, 2, 2, 2, 7, 7, 7, 1, 0]))
    d["string_ties"] = ("string", one("string", ts(range(0, 28, 2)),
                                      ["k", "c", "k", "a", "a", "c", "z", "z", "c", "a", "k", "z", "b", "b"]))
    d["float_neg"] = ("float", one("float", ts(range(0, 100, 10)), [-1.5, -3, -0.5, -7, -2, -2, -9.25, -1, -4, -3]))
    # Seasonal data for holt_winters.
    hw = [10 + 5 * ((i % 4) - 1.5) + 0.5 * i + (0.3 if i % 3 == 0 else -0.2) for i in range(24)]
    d["float_season"] = ("float", one("float", ts(range(0, 240, 10)), [round(x, 3) for x in hw]))
    d["integer_season"] = ("integer", one("integer", ts(range(0, 240, 10)), [int(round(x)) for x in hw]))
    d["float_trend"] = ("float", one("float", ts(range(0, 200, 10)), [round(1.0 + 0.7 * i + (i % 2) * 0.4, 2) for i in range(20)]))
    # Two series at the same timestamps: first()/last() prefer the larger
    # value (false/true for booleans) whatever the order the series come in.
    tsame = ts(range(0, 60, 10))
    d["float_same"] = ("float", two_hosts([1.5, 2.0, -3.0, 4.0, 0.5, 6.0], [2.5, -2.0, 3.0, 4.0, 7.5, 1.0], tsame, tsame))
    d["integer_same"] = ("integer", two_hosts([1, 2, -3, 4, 0, 6], [2, -2, 3, 4, 7, 1], tsame, tsame))
    d["boolean_same"] = ("boolean", two_hosts([True, False, True, False, True, False], [False, True, True, False, False, True], tsame, tsame))
    d["string_same"] = ("string", two_hosts(["b", "a", "c", "x", "m", "q"], ["a", "b", "c", "y", "l", "r"], tsame, tsame))
    # Identical series: every point ties in time and value with the other host's.
    dup = [3.0, 7.5, 7.5, -1.0, 7.5, 2.0, -1.0, 0.5]
    tdup = ts(range(0, 80, 10))
    d["float_dup"] = ("float", two_hosts(dup, dup, tdup, tdup))
    d["integer_dup"] = ("integer", two_hosts([int(x) for x in dup], [int(x) for x in dup], tdup, tdup))
    # Long inputs with many duplicates: Go 1.19's pdqsort breaks patterns
    # here (its xorshift constants decide which equal point percentile() picks).
    d["integer_saw"] = ("integer", one("integer", ts(range(200)), [i % 17 for i in range(200)]))
    for seed, n in [(5, 200), (8, 100)]:
        r = random.Random(seed)
        r.choice([60, 100, 200, 400]), r.choice(["organ", "saw", "few", "rand"])
        d[f"integer_few{seed}"] = ("integer", one("integer", ts(range(n)), [r.randint(0, 3) for _ in range(n)]))
    return d


# ---------------------------------------------------------------- cases

AGG_NUMERIC = [
    ("count", []), ("distinct", []), ("integral", []), ("integral", ["1m"]), ("mean", []), ("median", []),
    ("mode", []), ("spread", []), ("stddev", []), ("sum", []), ("first", []), ("last", []),
    ("max", []), ("min", []), ("percentile", [50]), ("percentile", [90]), ("percentile", [12.5]),
    ("sample", [100]), ("top", [3]), ("bottom", [3]), ("count_distinct", []),
]

MODES = {
    # name: (start, end, interval, offset, fill, group_by_host)
    "all": (None, None, None, 0, "null", False),
    "bounded": (15 * S, 200 * S, None, 0, "null", False),
    "gbt": (0, 120 * S, 30 * S, 0, "null", False),
    "gbt_off": (0, 120 * S, 40 * S, 15 * S, "null", False),
    "gbt_host": (0, 130 * S, 50 * S, 0, "none", True),
}


def case(name, ds, fn, args=(), mode="all", **kw):
    start, end, interval, offset, fill, gbh = MODES[mode]
    c = {
        "name": name, "dataset": ds, "fn": fn, "args": list(args),
        "start": kw.get("start", start), "end": kw.get("end", end),
        "interval": kw.get("interval", interval), "offset": kw.get("offset", offset),
        "fill": kw.get("fill", fill), "group_by_host": kw.get("gbh", gbh),
    }
    if "inner" in kw:
        c["inner"] = kw["inner"]
    if "expr" in kw:
        c["expr"] = kw["expr"]
    if "fields" in kw:
        c["fields"] = kw["fields"]
    if kw.get("with_host"):
        c["with_host"] = True
    return c


def aggregate_cases():
    out = []
    for ds in ["float", "integer", "float_2h", "integer_2h"]:
        modes = ["all", "gbt", "gbt_host"] if ds.endswith("2h") else ["all", "bounded", "gbt", "gbt_off"]
        for fn, args in AGG_NUMERIC:
            for mode in modes:
                if fn == "integral" and args and mode not in ("all", "gbt"):
                    continue
                out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_{ds}_{mode}", ds, fn, args, mode))
    for ds in ["float_irreg", "integer_irreg"]:
        for fn, args in AGG_NUMERIC:
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_{ds}_gbt", ds, fn, args, "gbt"))
    for ds in ["float_rand", "integer_rand", "float_ties", "integer_ties"]:
        for fn, args in [("mode", []), ("median", []), ("percentile", [33]), ("percentile", [99.9]),
                         ("top", [5]), ("bottom", [5]), ("distinct", []), ("stddev", []), ("mean", []),
                         ("sum", []), ("spread", []), ("integral", ["1s"]), ("max", []), ("min", []),
                         ("first", []), ("last", [])]:
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_{ds}_all", ds, fn, args, "all"))
        out.append(case(f"mode_{ds}_gbt", ds, "mode", [], "all", start=0, end=400 * S, interval=20 * S))
    for ds in ["float_one", "integer_one", "float_two", "integer_const", "float_const", "float_neg"]:
        for fn, args in AGG_NUMERIC:
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_{ds}_all", ds, fn, args, "all"))
    for ds in ["string", "boolean", "string_2h", "boolean_2h", "string_ties"]:
        fns = [("count", []), ("distinct", []), ("mode", []), ("first", []), ("last", []),
               ("sample", [100]), ("count_distinct", [])]
        if ds.startswith("boolean"):
            fns += [("max", []), ("min", [])]
        for fn, args in fns:
            for mode in (["all", "gbt"] if not ds.endswith("2h") else ["all", "gbt_host"]):
                out.append(case(f"{fn}_{ds}_{mode}", ds, fn, args, mode))
    # Type errors.
    for ds, fn in [("string", "sum"), ("string", "mean"), ("boolean", "mean"), ("string", "max"),
                   ("boolean", "spread"), ("string", "median"), ("boolean", "stddev"),
                   ("string", "top"), ("boolean", "percentile"), ("string", "integral")]:
        args = [3] if fn == "top" else ([50] if fn == "percentile" else [])
        out.append(case(f"err_{fn}_{ds}", ds, fn, args, "all"))
    # Overflow.
    for fn in ["sum", "mean", "spread", "max", "min"]:
        out.append(case(f"{fn}_integer_big_all", "integer_big", fn, [], "all"))
    # top/bottom with a tag argument, sample smaller than the window (random).
    for ds in ["float_2h", "integer_2h"]:
        for fn in ["top", "bottom"]:
            out.append(case(f"{fn}_tag1_{ds}_all", ds, fn, ["host", 1], "all"))
            out.append(case(f"{fn}_tag2_{ds}_all", ds, fn, ["host", 2], "all"))
            out.append(case(f"{fn}_tag5_{ds}_gbt", ds, fn, ["host", 5], "gbt"))
            out.append(case(f"{fn}_2_{ds}_gbt", ds, fn, [2], "gbt"))
    for ds in ["float", "integer_2h", "string"]:
        out.append(case(f"sample_2_{ds}_all", ds, "sample", [2], "all"))
        out.append(case(f"sample_1_{ds}_gbt", ds, "sample", [1], "gbt"))
    # percentile edges.
    for p in [0, 1, 100, 99, 50.5, 5]:
        out.append(case(f"percentile_{p}_integer_all", "integer", "percentile", [p], "all"))
    # Fill variants on mean/count/sum.
    for fill in ["none", "0", "-3", "previous", "linear"]:
        for fn in ["mean", "count", "sum", "max"]:
            out.append(case(f"{fn}_fill_{fill}_integer_irreg", "integer_irreg", fn, [], "all",
                            start=0, end=120 * S, interval=7 * S, fill=fill))
    for ds in ["integer_saw", "integer_few5", "integer_few8"]:
        for p in [10, 25, 50, 75, 90]:
            out.append(case(f"percentile_{p}_{ds}_all", ds, "percentile", [p], "all"))
        for fn in ["mode", "median", "top", "bottom"]:
            out.append(case(f"{fn}_{ds}_all", ds, fn, [7] if fn in ("top", "bottom") else [], "all"))
    # Equal timestamps across series.
    for ds in ["float_same", "integer_same", "boolean_same", "string_same"]:
        fns = ["first", "last", "count", "distinct", "count_distinct"]
        if ds in ("float_same", "integer_same"):
            fns += ["sum", "mean", "spread", "median", "stddev", "integral"]
        for fn in fns:
            out.append(case(f"{fn}_{ds}_all", ds, fn, [], "all"))
            out.append(case(f"{fn}_{ds}_gbt", ds, fn, [], "all", start=0, end=60 * S, interval=20 * S))
    # Which series wins a full tie (the host column comes from the aux).
    for ds in ["float_dup", "integer_dup", "float_same", "float_2h"]:
        for fn, args in [("max", []), ("min", []), ("first", []), ("last", []), ("percentile", [50]),
                         ("percentile", [90]), ("top", [2]), ("top", [3]), ("bottom", [2]), ("bottom", [4])]:
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_host_{ds}_all", ds, fn, args, "all",
                            with_host=True))
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_host_{ds}_gbt", ds, fn, args, "all",
                            start=0, end=80 * S, interval=40 * S, with_host=True))
        for n in [1, 2]:
            out.append(case(f"top_tag{n}_{ds}_all", ds, "top", ["host", n], "all"))
            out.append(case(f"bottom_tag{n}_{ds}_all", ds, "bottom", ["host", n], "all"))
    # Empty result: the time range has no points.
    for fn in ["count", "mean", "max", "sum", "distinct"]:
        out.append(case(f"{fn}_empty_range", "float", fn, [], "all", start=1000 * S, end=2000 * S, interval=100 * S))
    return out


TRANSFORMS_RAW = [
    ("derivative", []), ("derivative", ["10s"]), ("derivative", ["1ms"]), ("non_negative_derivative", []),
    ("non_negative_derivative", ["1m"]), ("difference", []), ("non_negative_difference", []),
    ("moving_average", [3]), ("moving_average", [1]), ("cumulative_sum", []), ("elapsed", []), ("elapsed", ["1s"]),
    ("elapsed", ["1h"]),
]


def transform_cases():
    out = []
    for ds in ["float", "integer", "float_irreg", "integer_irreg", "float_one", "float_two", "integer_big"]:
        for fn, args in TRANSFORMS_RAW:
            if ds in ("float_one", "float_two", "integer_big") and fn not in ("derivative", "difference", "moving_average", "cumulative_sum", "non_negative_difference"):
                continue
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_{ds}_raw", ds, fn, args, "all"))
    for ds in ["string", "boolean"]:
        out.append(case(f"elapsed_{ds}_raw", ds, "elapsed", [], "all"))
        out.append(case(f"err_derivative_{ds}_raw", ds, "derivative", [], "all"))
    # Over an aggregate with GROUP BY time: default unit is the interval, null windows are skipped.
    for inner in ["mean", "max", "count", "sum", "first"]:
        for fn, args in [("derivative", []), ("derivative", ["1s"]), ("non_negative_derivative", []),
                         ("difference", []), ("non_negative_difference", []), ("moving_average", [2]),
                         ("cumulative_sum", []), ("elapsed", [])]:
            out.append(case(f"{fn}{'_' + str(args[0]) if args else ''}_of_{inner}_irreg", "integer_irreg", fn, args,
                            "all", start=0, end=120 * S, interval=9 * S, inner={"fn": inner, "args": []}))
    for fill in ["0", "previous", "none"]:
        out.append(case(f"derivative_of_mean_fill_{fill}", "float_irreg", "derivative", [], "all",
                        start=0, end=120 * S, interval=9 * S, fill=fill, inner={"fn": "mean", "args": []}))
        out.append(case(f"difference_of_max_fill_{fill}", "float_irreg", "difference", [], "all",
                        start=0, end=120 * S, interval=9 * S, fill=fill, inner={"fn": "max", "args": []}))
    # Group by host: one stream per group.
    for fn, args in [("derivative", []), ("difference", []), ("cumulative_sum", []), ("moving_average", [2]), ("elapsed", [])]:
        out.append(case(f"{fn}_float_2h_byhost", "float_2h", fn, args, "all", gbh=True, fill="none"))
    return out


TA = ["exponential_moving_average", "double_exponential_moving_average", "triple_exponential_moving_average",
      "relative_strength_index", "triple_exponential_derivative", "chande_momentum_oscillator",
      "kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average"]


def ta_cases():
    out = []
    for fn in TA:
        variants = [[2], [3], [5], [3, 0], [3, 2], [4, 10]]
        if fn not in ("kaufmans_efficiency_ratio", "kaufmans_adaptive_moving_average"):
            variants += [[3, -1, "simple"], [3, -1, "exponential"], [4, 1, "simple"]]
        if fn == "chande_momentum_oscillator":
            variants += [[3, -1, "none"], [5, 0, "none"]]
        for args in variants:
            for ds in ["float_rand", "integer_irreg"]:
                out.append(case(f"{fn}_{'_'.join(str(a) for a in args)}_{ds}", ds, fn, args, "all"))
        out.append(case(f"{fn}_of_mean", "float_irreg", fn, [3], "all", start=0, end=120 * S, interval=9 * S,
                        inner={"fn": "mean", "args": []}))
    out.append(case("err_ema_none", "float", "exponential_moving_average", [3, -1, "none"], "all"))
    out.append(case("err_ema_period1", "float", "exponential_moving_average", [1], "all"))
    return out


def hw_cases():
    out = []
    for ds in ["float_season", "integer_season", "float_trend", "float_irreg"]:
        for fn in ["holt_winters", "holt_winters_with_fit"]:
            for args in ([5, 4], [3, 0], [6, 2], [2, 1]):
                out.append(case(f"{fn}_{args[0]}_{args[1]}_{ds}", ds, fn, args, "all", start=0, end=260 * S,
                                interval=10 * S, inner={"fn": "mean" if ds != "float_irreg" else "first", "args": []}))
    return out


MATH1 = ["abs", "acos", "asin", "atan", "ceil", "cos", "exp", "floor", "ln", "log2", "log10", "round", "sin",
         "sqrt", "tan"]


def math_cases():
    out = []
    r = random.Random(11)
    fvals = [0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 3.7, -3.7, 0.999, 10.25, -100.125, 1e-3, 1234.5]
    ivals = [0, 1, -1, 2, -2, 3, 7, -9, 100, -1000, 12345, 9223372036854775807, -9223372036854775807]
    t = ts(range(len(fvals)))
    ti = ts(range(len(ivals)))
    # ±Inf cannot be encoded by influxd's JSON writer (the whole response
    # fails), so the value sets keep every function finite; one case per
    # kind records that failure.
    fpos = [0.5, 1.0, 2.5, 3.7, 0.999, 10.25, 100.125, 1e-3, 1234.5, 7.0]
    ipos = [1, 2, 3, 7, 100, 1000, 12345, 9223372036854775807]
    fexp = [0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 3.7, -3.7, 10.25, -100.125, 1e-3]
    iexp = [0, 1, -1, 2, -2, 3, 7, -9, 100, -1000]
    for fn in MATH1:
        fv, iv = (fpos, ipos) if fn in ("ln", "log2", "log10") else ((fexp, iexp) if fn == "exp" else (fvals, ivals))
        out.append(case(f"math_{fn}_float", ("float", one("float", ts(range(len(fv))), fv)), fn, [], "all"))
        out.append(case(f"math_{fn}_integer", ("integer", one("integer", ts(range(len(iv))), iv)), fn, [], "all"))
    for fn, args in [("log", [2]), ("log", [10]), ("log", [0.5]), ("pow", [2]), ("pow", [0.5]), ("pow", [-1]),
                     ("pow", [3])]:
        fv, iv = (fpos, ipos[:7]) if fn == "log" or args[0] == -1 else (fvals, ivals[:11])
        out.append(case(f"math_{fn}_{args[0]}_float", ("float", one("float", ts(range(len(fv))), fv)), fn, args, "all"))
        out.append(case(f"math_{fn}_{args[0]}_integer", ("integer", one("integer", ts(range(len(iv))), iv)), fn, args, "all"))
    out.append(case("math_ln_zero_unencodable", ("float", one("float", ts([0, 1]), [1.0, 0.0])), "ln", [], "all"))
    out.append(case("math_exp_big_unencodable", ("integer", one("integer", ts([0]), [1000])), "exp", [], "all"))
    # Two-field expressions.
    a = [1.5, -2.0, 0.25, 7.25, 3.0, -0.5, 10.0]
    b = [2.0, 0.0, -3.0, 2.0, -4.5, 0.0, 3.0]
    ai = [7, -7, 0, 9, 3, -1, 10]
    bi = [2, 0, -3, 4, -2, 5, 3]
    tt = ts(range(len(a)))
    mixes = {
        "ff": (("float", a), ("float", b)),
        "ii": (("integer", ai), ("integer", bi)),
        "if": (("integer", ai), ("float", b)),
        "fi": (("float", a), ("integer", bi)),
    }
    for mix, ((ta_, va), (tb_, vb)) in mixes.items():
        s = [series({}, None, [(tt[i], [va[i], vb[i]]) for i in range(len(tt))])]
        ds = ("multi", s)
        fields = [["a", ta_], ["b", tb_]]
        for op in ["+", "-", "*", "/", "%"]:
            out.append(case(f"binary_{mix}_{'mod' if op == '%' else {'+': 'add', '-': 'sub', '*': 'mul', '/': 'div'}[op]}",
                            ds, "binary", [op], "all", expr=f"a {op} b", fields=fields))
        if mix == "ii":
            for op, nm in [("&", "and"), ("|", "or"), ("^", "xor")]:
                out.append(case(f"binary_{mix}_{nm}", ds, "binary", [op], "all", expr=f"a {op} b", fields=fields))
        out.append(case(f"math_atan2_{mix}", ds, "atan2", [], "all", expr="atan2(a, b)", fields=fields))
        if mix != "ii":
            out.append(case(f"math_pow_{mix}", ds, "pow_fields", [], "all", expr="pow(a, b)", fields=fields))
        out.append(case(f"math_log_{mix}", ds, "log_fields", [], "all", expr="log(a, b)", fields=fields))
    # Literals.
    s = [series({}, None, [(tt[i], [ai[i]]) for i in range(len(tt))])]
    for lit in ["a + 1", "a * 2.5", "a / 2", "a / 0", "a % 0", "a - -3", "a & 6", "a | 1", "a ^ 5", "2 / a", "a % 4"]:
        nm = lit.replace(" ", "").replace("+", "add").replace("*", "mul").replace("/", "div").replace("%", "mod") \
            .replace("&", "and").replace("|", "or").replace("^", "xor").replace("-", "sub").replace(".", "p")
        out.append(case(f"lit_int_{nm}", ("multi", s), "binary_lit", [], "all", expr=lit, fields=[["a", "integer"]]))
    sf = [series({}, None, [(tt[i], [a[i]]) for i in range(len(tt))])]
    for lit in ["a + 1", "a * 2.5", "a / 0", "a % 0", "a % 2", "2 - a", "a / 4"]:
        nm = lit.replace(" ", "").replace("+", "add").replace("*", "mul").replace("/", "div").replace("%", "mod") \
            .replace("-", "sub").replace(".", "p")
        out.append(case(f"lit_float_{nm}", ("multi", sf), "binary_lit", [], "all", expr=lit, fields=[["a", "float"]]))
    sb = [series({}, None, [(tt[i], [i % 2 == 0, i % 3 == 0]) for i in range(len(tt))])]
    for op, nm in [("&", "and"), ("|", "or"), ("^", "xor")]:
        out.append(case(f"binary_bb_{nm}", ("multi", sb), "binary", [op], "all", expr=f"a {op} b",
                        fields=[["a", "boolean"], ["b", "boolean"]]))
    return out


# ---------------------------------------------------------------- query text

def call_text(fn, args, field="v"):
    def fmt(a):
        if isinstance(a, str) and a in ("simple", "exponential", "none"):
            return "'" + a + "'"
        return str(a)
    if fn == "count_distinct":
        return f"count(distinct({field}))"
    return f"{fn}({', '.join([field] + [fmt(a) for a in args])})"


def query_for(c, meas):
    if "expr" in c:
        sel = c["expr"]
    elif c["fn"] in MATH1 + ["log", "pow"]:
        sel = call_text(c["fn"], c["args"])
    elif "inner" in c:
        sel = call_text(c["fn"], c["args"], call_text(c["inner"]["fn"], c["inner"]["args"]))
    else:
        sel = call_text(c["fn"], c["args"])
    if c.get("with_host"):
        sel += ", host"
    conds = []
    if c["start"] is not None:
        conds.append(f"time >= {c['start']}")
    if c["end"] is not None:
        conds.append(f"time < {c['end']}")
    q = f"SELECT {sel} FROM {meas}"
    if conds:
        q += " WHERE " + " AND ".join(conds)
    groups = []
    if c["interval"]:
        groups.append(f"time({c['interval']}ns{', %dns' % c['offset'] if c['offset'] else ''})")
    if c["group_by_host"]:
        groups.append("host")
    if groups:
        q += " GROUP BY " + ", ".join(groups)
        if c["interval"]:
            q += f" fill({c['fill']})"
    return q


# ---------------------------------------------------------------- http

class Influx:
    def __init__(self, url):
        self.url = url

    def post(self, path, body=b"", params=None):
        u = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        req = urllib.request.Request(u, data=body, method="POST")
        try:
            return urllib.request.urlopen(req).read()
        except urllib.error.HTTPError as e:
            return e.read()

    def query(self, q, write=False):
        params = {"db": DB, "q": q, "epoch": "ns"}
        if write:
            return json.loads(self.post("/query", params=params))
        u = self.url + "/query?" + urllib.parse.urlencode(params)
        try:
            body = urllib.request.urlopen(u).read()
        except urllib.error.HTTPError as e:
            body = e.read()
        try:
            return json.loads(body)
        except ValueError:
            # influxd cannot encode ±Inf in JSON and answers with a cut body.
            return {"error": "unencodable response: " + body[:200].decode("utf-8", "replace")}

    def write(self, lines):
        r = self.post("/write", "\n".join(lines).encode(), {"db": DB})
        if r:
            raise SystemExit(f"write failed: {r!r}")


def lp_value(v, typ):
    if typ == "float":
        return repr(float(v))
    if typ == "integer":
        return f"{int(v)}i"
    if typ == "boolean":
        return "true" if v else "false"
    return '"' + v + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8086")
    opts = ap.parse_args()
    ix = Influx(opts.url)
    ix.query(f"DROP DATABASE {DB}", write=True)
    ix.query(f"CREATE DATABASE {DB}", write=True)
    ds = datasets()
    groups = {
        "aggregates": aggregate_cases(),
        "transforms": transform_cases(),
        "technical": ta_cases(),
        "holt_winters": hw_cases(),
        "math": math_cases(),
    }
    n = 0
    for group, cases in groups.items():
        out = []
        for c in cases:
            n += 1
            meas = f"c{n}"
            if isinstance(c["dataset"], tuple):
                ftype, ser = c["dataset"]
                c["dataset"] = c["name"]
            else:
                ftype, ser = ds[c["dataset"]]
            fields = c.get("fields") or [["v", ftype]]
            lines = []
            for s in ser:
                tagstr = "".join(f",{k}={v}" for k, v in sorted(s["tags"].items()))
                for t, vals in s["points"]:
                    fv = ",".join(f"{fields[i][0]}={lp_value(vals[i], fields[i][1])}" for i in range(len(fields)))
                    lines.append(f"{meas}{tagstr} {fv} {t}")
            ix.write(lines)
            q = query_for(c, meas)
            res = ix.query(q)
            r0 = res.get("results", [{}])[0] if "results" in res else {}
            expected = {}
            if "error" in res or "error" in r0:
                expected["error"] = res.get("error") or r0.get("error")
            else:
                expected["series"] = [
                    {"tags": s.get("tags", {}), "columns": s["columns"], "values": s["values"]}
                    for s in r0.get("series", [])
                ]
                if any(any(row[1] is not None for row in s["values"]) for s in expected["series"]):
                    into = f"t{n}"
                    qi = q.replace(" FROM ", f" INTO {into} FROM ", 1)
                    qi = qi.replace("SELECT ", "SELECT ", 1)
                    if "GROUP BY" in qi and c["group_by_host"]:
                        pass
                    ri = ix.query(qi, write=True)
                    fk = ix.query(f"SHOW FIELD KEYS FROM {into}")
                    try:
                        expected["types"] = {v[0]: v[1] for v in fk["results"][0]["series"][0]["values"]}
                    except (KeyError, IndexError):
                        expected["types_error"] = json.dumps(ri)[:200]
            c["query"] = q
            c["field_types"] = fields
            c["series"] = ser
            c["expected"] = expected
            del c["dataset"]
            out.append(c)
        path = os.path.join(HERE, "corpus", f"{group}.json")
        with open(path, "w") as f:
            f.write("[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in out) + "\n]\n")
        print(f"{group}: {len(out)} cases -> {path}", file=sys.stderr)
    print(f"total {n} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
