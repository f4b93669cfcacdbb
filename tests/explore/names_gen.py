# Escaped and unicode names in every position, and field names shared between
# measurements with a different type in each, database `names`.
import random
random.seed(23)
base = 1672531200  # 2023-01-01T00:00:00Z
out = ["# DDL", "CREATE DATABASE names", "# DML", "# CONTEXT-DATABASE: names", "# CONTEXT-RETENTION-POLICY: autogen"]
# measurement names: space, comma, unicode, quote, dot, dash, equals (allowed unescaped in names)
meas = [r"my\ meas", r"comma\,m", "température", "日本", 'quo"te', "dot.ted", "da-sh", "eq=ual", "emoji🙂"]
tagkeys = [r"tag\ key", r"k\,1", r"k\=2", "région", "Host", "_t"]
tagvals = [r"a\ b", r"c\,d", r"e\=f", "ünï", "x/y", "1", "TRUE", r"back\\slash"]
fieldkeys = [r"f\ 1", r"f\,2", r"f\=3", "värde", "value", "Value"]
for mi, m in enumerate(meas):
    for s in range(3):
        tags = ",".join("%s=%s" % (tagkeys[(mi + j) % len(tagkeys)], tagvals[(mi + s + j) % len(tagvals)]) for j in range(2))
        for i in range(40):
            if random.random() < 0.1:
                continue
            t = base + i * 60 + s
            f = []
            for fi, fk in enumerate(fieldkeys):
                if random.random() < 0.3:
                    continue
                kind = (mi + fi) % 4
                if kind == 0: v = "%s" % round(random.uniform(-50, 50), 3)
                elif kind == 1: v = "%di" % random.randint(-100, 100)
                elif kind == 2: v = '"%s"' % random.choice(["s p", "q\\\"uo", "ü", "a,b", "x=y", ""])
                else: v = random.choice(["true", "false", "t", "F"])
                f.append("%s=%s" % (fk, v))
            if not f:
                continue
            out.append("%s,%s %s %d" % (m, tags, ",".join(f), t * 10**9))
# shared field names, one type per measurement
kinds = {"sf": "%s", "si": "%di", "ss": '"v%s"', "sb": None}
for m, k in kinds.items():
    for h in ("h1", "h2"):
        for i in range(60):
            t = base + i * 30
            if k is None:
                v = random.choice(["true", "false"])
            elif k == "%s":
                v = "%s" % round(random.uniform(0, 10), 2)
            else:
                v = k % random.randint(0, 9)
            out.append("%s,host=%s x=%s,y=%s %d" % (m, h, v, round(random.uniform(0, 1), 3), t * 10**9))
print("\n".join(out))
