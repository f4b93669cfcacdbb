# Irregular data in the shape of db0 (cpu/mem/weather): series that start and stop at
# different times, holes, sparse fields.
import random
random.seed(11)
base = 1672531200  # 2023-01-01T00:00:00Z
out = ["# DDL", "CREATE DATABASE irr", "CREATE RETENTION POLICY rp2 ON irr DURATION INF REPLICATION 1", "# DML",
       "# CONTEXT-DATABASE: irr", "# CONTEXT-RETENTION-POLICY: autogen"]
regions = {"host_a": "us-east", "host_b": "us-east", "host_c": "eu-west", "host_d": "eu-west", "host_e": "ap-south"}
for h, r in regions.items():
    start = random.randint(0, 70 * 6)
    end = random.randint(80 * 6, 200 * 6)
    holes = [(random.randint(start, end), random.randint(10, 120)) for _ in range(random.randint(0, 3))]
    uptime = random.randint(1000, 5000)
    for i in range(start, end):
        if random.random() < 0.15 or any(a <= i < a + n for a, n in holes):
            continue
        t = base + i * 10
        f = []
        if random.random() < 0.9: f.append("usage_user=%s" % round(random.uniform(0, 100), 2))
        if random.random() < 0.8: f.append("usage_system=%s" % round(random.uniform(0, 20), 2))
        uptime += 10
        if random.random() < 0.95: f.append("uptime=%di" % uptime)
        if random.random() < 0.3: f.append('status="%s"' % random.choice(["ok", "warn", "crit"]))
        if random.random() < 0.5: f.append("healthy=%s" % random.choice(["true", "false"]))
        if not f:
            continue
        out.append("cpu,host=%s,region=%s %s %d" % (h, r, ",".join(f), t * 10**9))
    if random.random() < 0.7:
        for i in range(random.randint(0, 200), random.randint(300, 1000), random.choice([3, 6, 9])):
            t = base + i * 10
            out.append("mem,host=%s used=%di,cached=%di,swap=%s,delta=%di %d" % (h, random.randint(10**6, 10**9), random.randint(10**5, 10**8), round(random.uniform(0, 1), 3), random.randint(-1000, 1000), t * 10**9))
for c in ("paris", "tokyo", "lima"):
    s = random.randint(0, 48)
    for i in range(s, s + random.randint(50, 180)):
        if random.random() < 0.2:
            continue
        t = base + i * 3600
        out.append('weather,city=%s temp=%s,sky="%s",humidity=%di %d' % (c, round(random.uniform(-5, 30), 1), random.choice(["clear", "rain", "snow"]), random.randint(20, 100), t * 10**9))
out.append("# CONTEXT-RETENTION-POLICY: rp2")
out.append("cpu,host=host_z,region=none usage_user=1 %d" % ((base + 300) * 10**9))
print("\n".join(out))
