#!/usr/bin/env python3
"""Random differential statements: sends the same generated InfluxQL to two 1.x servers
(real influxd 1.6.7 and Tessera) and prints the statements whose answers differ
(floats compared with a relative tolerance of 1e-9). A way to find what the recorded
corpus (tests/cases/query) does not cover yet; a difference found here becomes a corpus
case once it is fixed or understood.

    python3 tests/random_differential.py FIRST_PORT SECOND_PORT MODE N SEED

MODE: `bench` (aggregates, selectors, transformations over the standard workload's db
`bench`, ../shared/peer/gen_lp.py), `subqueries` (the same db, subqueries, raw
transformations, top()/bottom()), `corpus` (db0 of tests/cases/query/dataset.lp, loaded
into both servers), `wide` (db0 again: math between aggregates, math functions, regex
field keys, negated and mixed conditions, several sources, subqueries), `edges` (db0:
relative and exact times, contradictory conditions, literals, several selectors, DISTINCT
forms, several measurements, SHOW with WHERE/LIMIT), `nested` (db0: subqueries two levels
deep, inner fills and selectors, ranges on either level), `mutate` (db0: the corpus's own
statements with one to three random token edits; mostly parse and semantic errors),
`mutate-generated` (the same edits on statements of the four db0 generators). Ranges are bounded except where the generator means otherwise.
"""
import json, os
import re
import random
import sys
import urllib.error
import urllib.parse
import urllib.request

R1=["time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:10:00Z'","time >= '2020-01-01T00:03:15Z' AND time <= '2020-01-01T00:07:45Z'"]
fields=["usage_user","usage_idle","uptime","status","throttled","usage_system"]
aggs=["count","mean","sum","min","max","first","last","spread","stddev","median","mode","distinct","integral","percentile"]
def fn():
    a=random.choice(aggs); f=random.choice(fields)
    if a=="percentile": return f"percentile({f}, {random.choice([1,25,50,90,99])})"
    if a=="integral": return f"integral({f}, 1m)"
    return f"{a}({f})"
def gen_bench_aggregates():
    calls=[fn() for _ in range(random.choice([1,1,2]))]
    sel=", ".join(calls)
    r=random.random()
    if r<0.15: sel=f"derivative({random.choice(['mean','max','last'])}({random.choice(fields[:3])}), 1m)"
    elif r<0.25: sel=f"{random.choice(['difference','non_negative_difference','cumulative_sum','moving_average'])}({random.choice(['mean','max','first','sum'])}({random.choice(fields[:3])}){', 3' if 'moving' in sel else ''})"
    elif r<0.35: sel=f"{calls[0]}, host"
    where=random.choice(R1)
    w=random.random()
    if w<0.3: where+=" AND host =~ /host_1[0-9]$/"
    elif w<0.45: where+=" AND region = 'eu-west-1'"
    elif w<0.55: where+=" AND usage_user > 60"
    gb=[]
    if random.random()<0.75: gb.append(f"time({random.choice(['30s','1m','2m','90s','1m, 20s'])})")
    if random.random()<0.4: gb.append(random.choice(["region","az","host","*"]))
    s=f"SELECT {sel} FROM cpu WHERE {where}"
    if gb: s+=" GROUP BY "+", ".join(gb)
    if gb and gb[0].startswith("time") and random.random()<0.5: s+=" fill("+random.choice(["none","null","0","previous","linear"])+")"
    if random.random()<0.25: s+=" ORDER BY time DESC"
    if random.random()<0.2: s+=f" LIMIT {random.choice([1,3,7])}"
    if random.random()<0.1: s+=f" SLIMIT {random.choice([1,2])}"
    return s


R2=["time >= '2020-01-01T00:00:00Z' AND time < '2020-01-01T00:05:00Z'","time >= '2020-01-01T00:03:15Z' AND time <= '2020-01-01T00:04:45Z'"]
H2=" AND host =~ /^host_(1|2|3)$/"
def gen_bench_subqueries():
    k=random.random(); where=random.choice(R2)+random.choice([H2, H2+" AND usage_user > 30", " AND (host = 'host_5' OR host = 'host_77')", H2+" AND status = 'ok'", H2+" AND throttled = true"])
    if k<0.2:
        cols=random.choice(["*","usage_user, host","usage_user + usage_system AS s, host","usage_user * 2, status","uptime, region::tag","/usage_(u|s)/","usage_user::integer","usage_idle - 50"])
        s=f"SELECT {cols} FROM cpu WHERE {where}"
        if random.random()<0.5: s+=" GROUP BY "+random.choice(["host","*","region","az, host"])
    elif k<0.4:
        f=random.choice(["usage_user","uptime","usage_idle"])
        c=random.choice([f"top({f}, 3)",f"bottom({f}, 2)",f"top({f}, host, 2)",f"bottom({f}, host, 3), region",f"top({f}, 4), host",f"sample({f}, 1)" if False else f"max({f}), host",f"distinct(status)",f"count(distinct(status))"])
        s=f"SELECT {c} FROM cpu WHERE {where}"
        if random.random()<0.5: s+=" GROUP BY time("+random.choice(["1m","30s","2m"])+")"
        if random.random()<0.3: s+=(", " if "GROUP BY" in s else " GROUP BY ")+random.choice(["region","host"])
    elif k<0.6:
        inner=random.choice(["SELECT mean(usage_user) AS m FROM cpu WHERE {w} GROUP BY time(1m), host","SELECT max(usage_user) AS m, usage_idle FROM cpu WHERE {w} GROUP BY host","SELECT usage_user AS m, host FROM cpu WHERE {w}","SELECT derivative(usage_user) AS m FROM cpu WHERE {w} GROUP BY host"]).format(w=where)
        outer=random.choice(["max(m)","mean(m)","count(m)","m","sum(m), count(m)","top(m, 2)","last(m)"])
        s=f"SELECT {outer} FROM ({inner})"
        if random.random()<0.5: s+=" GROUP BY "+random.choice(["host","time(2m)","*"])
    elif k<0.8:
        f=random.choice(["usage_user","uptime"])
        c=random.choice([f"{f}",f"difference({f})",f"derivative({f}, 10s)",f"moving_average({f}, 3)",f"cumulative_sum({f})",f"non_negative_derivative({f})",f"elapsed({f}, 10s)",f"abs({f} - 50)",f"round({f} / 3)",f"holt_winters(mean({f}), 3, 1)"])
        s=f"SELECT {c} FROM cpu WHERE {where}"
        if "holt" in c: s+=" GROUP BY time(30s)"
        elif random.random()<0.5: s+=" GROUP BY host"
    else:
        s=random.choice(["SHOW TAG VALUES FROM cpu WITH KEY = region WHERE host = 'host_1'","SHOW SERIES FROM cpu WHERE host =~ /^host_1$/","SHOW TAG KEYS FROM cpu LIMIT 2","SHOW FIELD KEYS FROM cpu","SHOW MEASUREMENTS WITH MEASUREMENT =~ /c.u/","SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY = az","SHOW SERIES CARDINALITY FROM cpu WHERE region = 'eu-west-1'","SHOW TAG VALUES FROM cpu WITH KEY IN (region, az) LIMIT 3 OFFSET 2"])
        return s
    if random.random()<0.25: s+=" ORDER BY time DESC"
    if random.random()<0.3: s+=f" LIMIT {random.choice([1,2,5])}"
    if random.random()<0.15: s+=f" OFFSET {random.choice([1,3])}"
    if random.random()<0.1: s+=f" SLIMIT 1 SOFFSET 1"
    return s





R3=["time >= '2023-01-01T00:00:00Z' AND time < '2023-01-01T01:00:00Z'","time >= '2023-01-01T00:20:00Z' AND time <= '2023-01-01T01:40:00Z'", "time > '2023-01-01T01:30:00Z' AND time < '2023-01-01T03:00:00Z'"]
def gen_corpus_mixed():
    k=random.random()
    where=random.choice(R3)+random.choice(["", " AND host = 'host_c'", " AND region = 'us-east'", " AND usage_user > 40", " AND status = 'warn'", " AND (host = 'host_a' OR host = 'host_e')", " AND healthy = false"])
    meas=random.choice(["cpu","cpu","mem","cpu, mem","/^(cpu|mem)$/"])
    f=random.choice(["usage_user","usage_system","uptime","status","healthy","*"]) if "mem" not in meas else random.choice(["*","used","cached","swap","delta"])
    if k<0.35:
        agg=random.choice(["count","mean","max","min","first","last","sum","spread","median","mode","stddev","distinct"])
        if f=="*" : sel=f"{agg}(*)"
        else: sel=f"{agg}({f})"
        if random.random()<0.3: sel+=", "+random.choice(["count","max","last"])+"("+random.choice(["usage_user","uptime","used"])+")"
        s=f"SELECT {sel} FROM {meas} WHERE {where}"
        gb=[]
        if random.random()<0.7: gb.append(f"time({random.choice(['5m','10m','17m','1h','5m, 2m'])})")
        if random.random()<0.4: gb.append(random.choice(["host","region","*","/reg/"]))
        if gb: s+=" GROUP BY "+", ".join(gb)
        if gb and gb[0].startswith('time') and random.random()<0.6: s+=" fill("+random.choice(["none","null","-1","previous","linear"])+")"
        if random.random()<0.2 and gb and gb[0].startswith('time'): s+=" tz('"+random.choice(["America/New_York","Asia/Kolkata","Europe/Berlin"])+"')"
    elif k<0.6:
        sel=random.choice(["*","usage_user, host","usage_user::integer, uptime::float","status, healthy","host, region, usage_system","usage_user + usage_system, host", "*::field","used, cached"])
        s=f"SELECT {sel} FROM {meas} WHERE {where}"
        if random.random()<0.4: s+=" GROUP BY "+random.choice(["host","*","region"])
    elif k<0.8:
        s=random.choice(["SHOW TAG VALUES FROM cpu WITH KEY = host WHERE region = 'eu-west'","SHOW SERIES WHERE host = 'host_a'","SHOW TAG KEYS","SHOW FIELD KEYS","SHOW MEASUREMENTS","SHOW TAG VALUES WITH KEY =~ /o/","SHOW SERIES FROM mem","SHOW TAG VALUES CARDINALITY WITH KEY = host","SHOW FIELD KEY CARDINALITY","SHOW MEASUREMENTS WHERE host = 'host_a'","SHOW SERIES EXACT CARDINALITY FROM cpu WHERE region = 'us-east'","SHOW TAG KEYS FROM cpu WHERE host = 'host_e'","SHOW TAG VALUES FROM cpu, mem WITH KEY IN (host, region)","SHOW MEASUREMENT CARDINALITY","SHOW SERIES CARDINALITY FROM /c/"])
        return s
    else:
        fn=random.choice(["holt_winters(mean(usage_user), 3, 1)","derivative(max(uptime), 1m)","non_negative_difference(last(uptime))","moving_average(mean(usage_user), 2)","cumulative_sum(count(usage_user))","elapsed(last(usage_user), 1m)","difference(max(usage_user))","chande_momentum_oscillator(mean(usage_user), 3)","exponential_moving_average(mean(usage_user), 3)","kaufmans_efficiency_ratio(mean(usage_user), 2)","relative_strength_index(mean(usage_user), 3)","triple_exponential_derivative(mean(usage_user), 2)","integral(usage_user, 1m)","percentile(usage_user, 90)","top(usage_user, host, 2)","bottom(usage_user, 3), host","sample(usage_user, 2)" if False else "count(distinct(status))","spread(uptime)"])
        s=f"SELECT {fn} FROM cpu WHERE {where} GROUP BY time({random.choice(['5m','10m','7m'])})"
        if random.random()<0.4: s+=", host"
        if random.random()<0.4: s+=" fill("+random.choice(["none","0","previous","linear"])+")"
    if random.random()<0.25: s+=" ORDER BY time DESC"
    if random.random()<0.25: s+=f" LIMIT {random.choice([1,2,5])}"
    if random.random()<0.15: s+=f" OFFSET {random.choice([1,3])}"
    if random.random()<0.15: s+=f" SLIMIT {random.choice([1,2])}"
    if random.random()<0.1: s+=f" SOFFSET 1"
    return s


def gen_corpus_wide():
    """Broader shapes over db0: math between aggregates, math functions, regex field keys,
    negated and mixed conditions, several sources, negative offsets, integer fields."""
    where = random.choice(R3) + random.choice([
        "", " AND host != 'host_a'", " AND host !~ /a|b/", " AND region <> 'us-east'",
        " AND usage_user >= 30 AND usage_system < 10", " AND (status = 'ok' OR healthy = true)",
        " AND uptime + 1 > 1500", " AND (host = 'host_a' OR usage_user > 50)", " AND usage_user * 2 < 70",
        " AND status != 'ok'", " AND healthy != true", " AND host =~ /^host_[cd]$/ AND usage_system > 9.5"])
    k = random.random()
    if k < 0.2:
        a = random.choice(["mean(usage_user) + max(usage_system)", "count(uptime) * 2", "max(usage_user) - min(usage_user)",
                           "sum(uptime) / count(uptime)", "mean(usage_user) * 10 AS m10, first(status)", "last(uptime) % 7",
                           "floor(mean(usage_user))", "round(max(usage_system)), ceil(min(usage_user))", "abs(min(usage_user) - 50)",
                           "sqrt(max(usage_user))", "pow(mean(usage_system), 2)", "log(max(uptime), 10)", "max(/usage/)", "count(/u/)",
                           "first(*)", "mean(*)", "spread(/usage_/)", "min(uptime) / 3", "median(usage_user) + 1", "-max(usage_user)"])
        s = f"SELECT {a} FROM cpu WHERE {where}"
        gb = []
        if random.random() < 0.7: gb.append(f"time({random.choice(['10m', '15m', '10m, -3m', '30m, 5m', '7m'])})")
        if random.random() < 0.4: gb.append(random.choice(["host", "region", "*"]))
        if gb: s += " GROUP BY " + ", ".join(gb)
        if gb and gb[0].startswith("time") and random.random() < 0.5: s += " fill(" + random.choice(["none", "null", "3", "previous", "linear"]) + ")"
    elif k < 0.45:
        c = random.choice(["usage_user * 2 + uptime", "sqrt(usage_user), host", "pow(usage_user, 2), status", "log2(uptime)", "ln(usage_system)",
                           "atan2(usage_user, usage_system)", "exp(usage_system / 10)", "sin(usage_user), cos(usage_user)", "log10(uptime) AS l, region",
                           "uptime / 7", "uptime % 7", "usage_user, usage_user::integer, uptime::float", "/usage/, host::tag", "-usage_user",
                           "usage_user - usage_system AS d", "status, healthy, uptime", "round(usage_user * 10) / 10", "asin(usage_user / 100)",
                           "floor(usage_user), ceil(usage_system)", "uptime * 1.5", "usage_user + 'x'"])
        s = f"SELECT {c} FROM cpu WHERE {where}"
        if random.random() < 0.4: s += " GROUP BY " + random.choice(["host", "*", "region", "host, region"])
    elif k < 0.6:
        src = random.choice(["cpu, mem", "/.*/", "db0.autogen.cpu", "db0.rp2.cpu", '"db0".."cpu"', "/^m/", "mem", "weather", "cpu, rp2only"])
        c = random.choice(["*", "count(*)", "max(used), max(usage_user)", "last(*)", "mean(temp), count(sky)", "first(*)", "used / 1000000", "sum(delta), min(delta)", "abs(delta)"])
        rng = random.choice(R3 + ["time >= '2023-01-01T00:00:00Z' AND time < '2023-01-10T00:00:00Z'"])
        s = f"SELECT {c} FROM {src} WHERE {rng}"
        if random.random() < 0.4: s += " GROUP BY " + random.choice(["*", "host", "city", "time(1h)", "time(1d), *"])
    elif k < 0.8:
        f = random.choice(["usage_user", "uptime", "usage_system"])
        c = random.choice([f"top({f}, 3), host, usage_system", f"bottom({f}, 2), status", f"top({f}, region, 2)", f"max({f}), status, healthy",
                           f"last({f}), uptime", f"first({f}), *", f"min({f}), region", f"percentile({f}, 75), host", f"top({f}, host, region, 2)",
                           f"bottom({f}, 4)", f"distinct({f})", f"count(distinct({f}))", f"mode({f})", f"integral({f})", f"integral({f}, 10s)"])
        s = f"SELECT {c} FROM cpu WHERE {where}"
        if random.random() < 0.5: s += " GROUP BY time(" + random.choice(["10m", "20m", "1h"]) + ")"
        if random.random() < 0.3: s += (", " if "GROUP BY" in s else " GROUP BY ") + random.choice(["region", "host"])
    else:
        f = random.choice(["usage_user", "uptime"])
        inner = random.choice([f"SELECT {f} FROM cpu WHERE {where}", f"SELECT mean({f}) AS {f} FROM cpu WHERE {where} GROUP BY time(5m), host",
                               f"SELECT max({f}) AS {f}, host FROM cpu WHERE {where} GROUP BY region", f"SELECT {f} * 2 AS {f} FROM cpu WHERE {where} GROUP BY *",
                               f"SELECT top({f}, 3) AS {f} FROM cpu WHERE {where} GROUP BY host", f"SELECT difference({f}) AS {f} FROM cpu WHERE {where} GROUP BY host"])
        outer = random.choice([f"mean({f})", f"count({f})", f"max({f}), min({f})", f"{f}", f"sum({f})", f"derivative(mean({f}), 5m)", f"first({f}), host"])
        s = f"SELECT {outer} FROM ({inner})"
        if random.random() < 0.6: s += " WHERE " + random.choice(R3)
        if random.random() < 0.5: s += " GROUP BY " + random.choice(["host", "time(10m)", "*", "region", "time(10m), host"])
    if random.random() < 0.25: s += " ORDER BY time DESC"
    if random.random() < 0.25: s += f" LIMIT {random.choice([1, 2, 5])}"
    if random.random() < 0.15: s += f" OFFSET {random.choice([1, 3])}"
    if random.random() < 0.15: s += f" SLIMIT {random.choice([1, 2])}"
    if random.random() < 0.1: s += " SOFFSET 1"
    return s


def gen_corpus_edges():
    """Edge shapes over db0: relative and exact times, empty and contradictory conditions,
    regexes on string fields, literals on the left, division by zero, several selectors,
    wildcard selectors with fill, DISTINCT forms, holt_winters_with_fit, GROUP BY * over
    several measurements."""
    rng = random.choice(R3 + ["time > '2023-01-01T00:00:00Z' - 10m AND time < '2023-01-01T01:00:00Z' + 5m",
                              "time = '2023-01-01T00:10:00Z'", "time >= '2023-01-01T00:00:00Z' AND time <= '2023-01-01T00:00:00Z'"])
    cond = random.choice(["", " AND status =~ /o/", " AND status !~ /^ok$/", " AND usage_user > 30 AND usage_user < 20",
                          ' AND "host" = \'host_a\'', " AND host =~ //", " AND healthy = true", " AND healthy = 'true'",
                          " AND uptime = 1010", " AND usage_user = 20", " AND region =~ /^us/ AND host != 'host_e'", " AND (usage_user > 50 OR usage_system > 12)"])
    where = rng + cond
    k = random.random()
    if k < 0.3:
        c = random.choice(["100 - usage_user", "usage_user / 0", "uptime / 0", "uptime * 9223372036854775807", "usage_user, 2 * usage_system",
                           "max(usage_user), min(usage_user)", "max(usage_user), usage_system, status", "first(usage_user), last(usage_user), host",
                           "last(*)", "first(/usage/)", "count(DISTINCT status)", "DISTINCT status", "distinct(healthy)", "percentile(usage_user, 50.5)",
                           "median(uptime), mode(status)", "spread(uptime) / 2", "stddev(usage_user) * 0", "min(usage_user) + max(usage_user) / 2",
                           "top(usage_user, host, 2), usage_system", "bottom(uptime, 1), *", "count(status), sum(uptime)"])
        s = f"SELECT {c} FROM cpu WHERE {where}"
        agg = any(a in c for a in ["max(", "min(", "first(", "last(", "count(", "percentile", "median", "spread", "stddev", "top(", "bottom(", "DISTINCT", "distinct"])
        if agg and random.random() < 0.6:
            s += " GROUP BY time(" + random.choice(["10m", "15m", "1h", "13m"]) + ")" + random.choice(["", ", host", ", *"])
            if random.random() < 0.5: s += " fill(" + random.choice(["none", "null", "0", "previous", "linear"]) + ")"
        elif random.random() < 0.3:
            s += " GROUP BY " + random.choice(["host", "*", "region"])
    elif k < 0.5:
        c = random.choice(["count(*)", "max(*)", "*", "last(*)", "mean(*)"])
        s = f"SELECT {c} FROM {random.choice(['/.*/', 'cpu, mem', '/^(cpu|weather)$/', 'mem, weather'])} WHERE {rng}"
        if random.random() < 0.6: s += " GROUP BY " + random.choice(["*", "time(30m), *", "time(1h)", "host"])
    elif k < 0.65:
        c = random.choice(["holt_winters_with_fit(mean(usage_user), 2, 2)", "holt_winters(max(uptime), 3, 0)", "derivative(usage_user, 1m)",
                           "non_negative_derivative(max(uptime), 30s)", "difference(usage_user)", "elapsed(usage_user, 1s)", "moving_average(usage_user, 4)",
                           "cumulative_sum(uptime)", "exponential_moving_average(usage_user, 4)", "double_exponential_moving_average(mean(usage_user), 3)",
                           "kaufmans_adaptive_moving_average(mean(usage_user), 3)", "triple_exponential_moving_average(usage_user, 3)"])
        s = f"SELECT {c} FROM cpu WHERE {where}"
        if "(mean(" in c or "(max(" in c: s += " GROUP BY time(" + random.choice(["5m", "10m"]) + ")" + random.choice(["", ", host"])
        elif random.random() < 0.5: s += " GROUP BY host"
    elif k < 0.8:
        s = random.choice([f"SELECT usage_user FROM cpu WHERE {where} GROUP BY host LIMIT 3 OFFSET 2", f"SELECT * FROM cpu WHERE {where} LIMIT 4",
                           f"SELECT usage_user, host FROM cpu WHERE {where} ORDER BY time DESC LIMIT 5", f"SELECT * FROM cpu WHERE {where} GROUP BY * SLIMIT 2 SOFFSET 1",
                           f"SELECT mean(usage_user) FROM cpu WHERE {where} GROUP BY time(10m), host SLIMIT 2 LIMIT 3",
                           f"SELECT count(usage_user) FROM cpu WHERE {where} GROUP BY time(20m) tz('America/Chicago')",
                           f"SELECT max(temp) FROM weather WHERE time >= '2023-01-02T00:00:00Z' AND time < '2023-01-10T00:00:00Z' GROUP BY time(1d), city tz('Asia/Tokyo')",
                           f"SELECT first(temp), last(sky) FROM weather WHERE time >= '2023-01-02T00:00:00Z' AND time < '2023-01-10T00:00:00Z' GROUP BY time(2d, 1d) fill(previous)"])
        return s
    else:
        s = random.choice(["SHOW TAG VALUES FROM cpu WITH KEY = host WHERE time > '2023-01-01T01:00:00Z'", "SHOW SERIES FROM cpu WHERE time < '2023-01-01T00:30:00Z'",
                           "SHOW MEASUREMENTS WHERE region =~ /east/", "SHOW TAG KEYS FROM /m.*/", "SHOW FIELD KEYS FROM weather", "SHOW TAG VALUES WITH KEY = city",
                           "SHOW SERIES LIMIT 3 OFFSET 2", "SHOW MEASUREMENTS LIMIT 2 OFFSET 1", "SHOW TAG VALUES FROM cpu WITH KEY =~ /reg|ho/ WHERE host != 'host_a'",
                           "SHOW SERIES CARDINALITY", "SHOW TAG KEY CARDINALITY FROM cpu", "SHOW FIELD KEY EXACT CARDINALITY", "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = region",
                           "SHOW RETENTION POLICIES", "SHOW RETENTION POLICIES ON db1", "SHOW MEASUREMENT EXACT CARDINALITY", "SHOW SERIES FROM cpu, mem WHERE host = 'host_b'"])
        return s
    if random.random() < 0.2: s += " ORDER BY time DESC"
    if random.random() < 0.2: s += f" LIMIT {random.choice([1, 2, 5])}"
    if random.random() < 0.1: s += f" OFFSET {random.choice([1, 3])}"
    if random.random() < 0.1: s += f" SLIMIT {random.choice([1, 2])}"
    return s


def gen_corpus_nested():
    """Subqueries over db0 in depth: two levels, inner fills, inner selectors under outer
    raw and aggregate statements, time ranges on one, both or neither level, tz()."""
    r_in = random.choice(["", " AND " + random.choice(R3), " AND time >= '2023-01-01T00:07:00Z' AND time < '2023-01-01T00:53:00Z'"])
    r_out = random.choice(["", " WHERE " + random.choice(R3), " WHERE time > '2023-01-01T00:12:30Z' AND time < '2023-01-01T01:12:30Z'"])
    host = random.choice(["host =~ /host_[abc]/", "region = 'us-east'", "host = 'host_d'", "usage_user > 25"])
    inner = random.choice([
        f"SELECT mean(usage_user) AS u FROM cpu WHERE {host}{r_in} GROUP BY time(10m), host fill({random.choice(['none', 'null', '0', 'previous', 'linear'])})",
        f"SELECT max(usage_user) AS u, host FROM cpu WHERE {host}{r_in} GROUP BY time(15m)",
        f"SELECT usage_user AS u FROM cpu WHERE {host}{r_in}",
        f"SELECT first(usage_user) AS u FROM cpu WHERE {host}{r_in} GROUP BY host",
        f"SELECT difference(mean(usage_user)) AS u FROM cpu WHERE {host}{r_in} GROUP BY time(10m), host",
        f"SELECT u FROM (SELECT max(usage_user) AS u FROM cpu WHERE {host}{r_in} GROUP BY time(5m), host) WHERE u > 30",
        f"SELECT mean(u) AS u FROM (SELECT usage_user AS u FROM cpu WHERE {host}{r_in}) GROUP BY time(20m)",
        f"SELECT cumulative_sum(u) AS u FROM (SELECT sum(usage_user) AS u FROM cpu WHERE {host}{r_in} GROUP BY time(10m))",
    ])
    outer = random.choice(["u", "max(u)", "mean(u)", "count(u)", "sum(u), min(u)", "last(u)", "top(u, 2)", "derivative(mean(u), 10m)", "spread(u)", "u * 2"])
    s = f"SELECT {outer} FROM ({inner}){r_out}"
    agg = "(" in outer and not outer.startswith("u ")
    if agg and random.random() < 0.6:
        s += " GROUP BY time(" + random.choice(["10m", "20m", "30m", "7m"]) + ")" + random.choice(["", ", host", ", *"])
        if random.random() < 0.4: s += " fill(" + random.choice(["none", "0", "previous", "linear", "null"]) + ")"
        if random.random() < 0.15: s += " tz('" + random.choice(["Asia/Kolkata", "America/New_York"]) + "')"
    elif random.random() < 0.3:
        s += " GROUP BY " + random.choice(["host", "*"])
    if random.random() < 0.25: s += " ORDER BY time DESC"
    if random.random() < 0.2: s += f" LIMIT {random.choice([1, 2, 4])}"
    if random.random() < 0.1: s += f" OFFSET {random.choice([1, 2])}"
    if random.random() < 0.1: s += f" SLIMIT {random.choice([1, 2])}"
    return s


SAFE_EXTRA = ["SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET", "fill(", "time(", ")", "(", ",", "*",
              "=", "!=", "<>", "=~", "!~", "<", ">=", "AND", "OR", "'", '"', "/", "-", "+", "%", "::", "::field", "::tag", "DESC", "ASC", "tz(",
              "1", "1.5", "-1", "10m", "0s", "now()", "true", "null", "host", "cpu", "mean(", "count(", ".", ";", "SHOW", "TAG", "KEYS", "VALUES",
              "SERIES", "MEASUREMENTS", "WITH", "KEY", "IN", "ON", "db0", "$x", "AS", "EXPLAIN", "ANALYZE", "FIELD", "CARDINALITY", "EXACT",
              "'2023-01-01T00:00:00Z'", "'2023-01-01'", "'x'", "''", "1e3", "0x1", "9223372036854775807", "-9223372036854775808", "/h.*/",
              "::integer", "::float", "::string", "::boolean", "fill(previous)", "fill(linear)", "fill(none)", "fill(0)", "tz('UTC')",
              "tz('Europe/Paris')", "NOT", "DISTINCT", "usage_user", "region", "time", "\"time\"", "autogen", "rp2", "db0.autogen.cpu",
              "1h", "1d", "1w", "1ns", "1u", "first(", "last(", "max(", "top(", "bottom(", "percentile(", "derivative(", "difference(",
              "abs(", "sqrt(", "log(", "round(", "::", "&", "|", "^", "!", "MEASUREMENT", "EXACT", "LIMIT 0", "OFFSET 1"]
UNSAFE = re.compile(r"\b(DROP|DELETE|CREATE|ALTER|GRANT|REVOKE|INTO|SET|KILL|DIAGNOSTICS|STATS|QUERIES|SHARDS)\b", re.I)
TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|/(?:[^/\\]|\\.)+/|\d+(?:\.\d+)?[a-zµ]*|\w+|::|!=|<>|=~|!~|<=|>=|\S")
_CORPUS = []


def corpus_statements():
    if not _CORPUS:
        import glob, os
        here = os.path.dirname(os.path.abspath(__file__))
        for f in sorted(glob.glob(os.path.join(here, "cases", "query", "*.jsonl"))):
            for line in open(f):
                try:
                    c = json.loads(line)
                except ValueError:
                    continue
                q = c.get("params", {}).get("q")
                if q and c.get("params", {}).get("db") in (None, "db0") and not UNSAFE.search(q) and "params" not in c.get("params", {}):
                    _CORPUS.append(q)
    return _CORPUS


def gen_mutated(source=None):
    """A corpus statement (or one from `source`) with one to three token edits: delete,
    duplicate, swap with the next, replace by or insert a token from the statement or a
    fixed vocabulary, or cut the statement short. Mostly parse errors and odd-but-valid
    forms; destructive words are never produced."""
    while True:
        toks = TOKEN.findall(source() if source else random.choice(corpus_statements()))
        for _ in range(random.choice([1, 1, 2, 3])):
            if not toks:
                break
            i = random.randrange(len(toks))
            op = random.choice(["del", "dup", "swap", "repl", "ins", "cut"])
            pick = random.choice([random.choice(toks), random.choice(SAFE_EXTRA)])
            if op == "del": del toks[i]
            elif op == "dup": toks.insert(i, toks[i])
            elif op == "swap" and i + 1 < len(toks): toks[i], toks[i + 1] = toks[i + 1], toks[i]
            elif op == "repl": toks[i] = pick
            elif op == "ins": toks.insert(i, pick)
            elif op == "cut": toks = toks[:max(i, 1)]
        s = " ".join(toks)
        if toks and not UNSAFE.search(s):
            return s


def close(a,b):
    if isinstance(a,float) and isinstance(b,(int,float)) or isinstance(b,float) and isinstance(a,(int,float)):
        if a==b: return True
        return abs(a-b)<=1e-9*max(abs(a),abs(b),1e-300)
    if isinstance(a,(list,tuple)) and isinstance(b,(list,tuple)): return len(a)==len(b) and all(close(x,y) for x,y in zip(a,b))
    if isinstance(a,dict) and isinstance(b,dict): return a.keys()==b.keys() and all(close(a[k],b[k]) for k in a)
    return a==b


def file_mode(mode):
    """`mutate-file:PATH:DB`: mutations of the statements in PATH (one per line), run on
    database DB (say, the docs' NOAA sample data loaded on both servers)."""
    _, path, db = mode.split(":", 2)
    lines = [l.strip() for l in open(path) if l.strip() and not UNSAFE.search(l)]
    return (lambda: gen_mutated(lambda: random.choice(lines))), db


def main():
    first, second, mode, n, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    random.seed(seed)
    gen, db = {
        "bench": (gen_bench_aggregates, "bench"),
        "subqueries": (gen_bench_subqueries, "bench"),
        "corpus": (gen_corpus_mixed, "db0"),
        "wide": (gen_corpus_wide, "db0"),
        "edges": (gen_corpus_edges, "db0"),
        "nested": (gen_corpus_nested, "db0"),
        "mutate": (gen_mutated, "db0"),
        "mutate-generated": (lambda: gen_mutated(random.choice([gen_corpus_mixed, gen_corpus_wide, gen_corpus_edges, gen_corpus_nested])), "db0"),
    }.get(mode) or file_mode(mode)
    # RD_DB: run the db0 generators on another database of the same shape (say, with
    # series that start and stop at different times).
    db = os.environ.get("RD_DB", db)
    diffs = 0
    for _ in range(n):
        s = gen()
        res = []
        for p in (first, second):
            u = f"http://127.0.0.1:{p}/query?db={db}&" + urllib.parse.urlencode({"q": s})
            try:
                with urllib.request.urlopen(u) as r:
                    status, body = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            try:
                res.append((status, json.loads(body)))
            except ValueError:
                # Not JSON (influxd's "json: unsupported value: -Inf" text): compared as text.
                res.append((status, body.decode("utf-8", "replace")))
        if s.upper().startswith("EXPLAIN"):
            # Block sizes are the storage format's own, never the same.
            res = [json.loads(re.sub(r"SIZE OF BLOCKS: \d+", "SIZE OF BLOCKS: _", json.dumps(r))) for r in res]
        if not close(res[0], res[1]):
            diffs += 1
            print("DIFF", s)
            print("  first ", json.dumps(res[0])[:400])
            print("  second", json.dumps(res[1])[:400])
    print("diffs", diffs, "of", n)


if __name__ == "__main__":
    main()
