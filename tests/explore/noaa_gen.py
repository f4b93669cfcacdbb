# NOAA-water-database-shaped data (synthetic values), as the InfluxDB 1.x docs use.
import math, random
random.seed(7)
start = 1439856000  # 2015-08-18T00:00:00Z
step = 360          # 6 minutes
n = 2000            # ~8.3 days
out = ["# DDL", "CREATE DATABASE NOAA_water_database", "CREATE DATABASE where_else", "# DML",
       "# CONTEXT-DATABASE: NOAA_water_database", "# CONTEXT-RETENTION-POLICY: autogen"]
def desc(w):
    if w < 3: return "below 3 feet"
    if w < 6: return "between 3 and 6 feet"
    if w < 9: return "between 6 and 9 feet"
    return "at or greater than 9 feet"
for loc, base in (("coyote_creek", 5.0), ("santa_monica", 4.0)):
    for i in range(n):
        t = start + i * step
        if loc == "santa_monica" and i % 97 == 13:
            continue  # gaps
        w = round(base + 3.5 * math.sin(i / 20.0) + random.uniform(-0.5, 0.5), 3)
        out.append('h2o_feet,location=%s level\\ description="%s",water_level=%s %d' % (loc, desc(w), repr(w), t * 10**9))
        out.append('h2o_pH,location=%s pH=%di %d' % (loc, random.randint(6, 9), t * 10**9))
        out.append('h2o_temperature,location=%s degrees=%di %d' % (loc, random.randint(60, 80), t * 10**9))
        out.append('h2o_quality,location=%s,randtag=%d index=%di %d' % (loc, random.randint(1, 3), random.randint(0, 100), t * 10**9))
        out.append('average_temperature,location=%s degrees=%di %d' % (loc, random.randint(70, 85), t * 10**9))
print("\n".join(out))
