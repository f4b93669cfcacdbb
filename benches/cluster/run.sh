#!/usr/bin/env bash
# The standard ingest (gen_lp.py workload, 4 client threads) through a 3-data-node
# cluster at RF 2 for each write consistency level, next to one Tessera data node and to
# influxd 1.6.7, in one run. Every process shares this machine's cores, so a cluster's
# lines/s is per machine, not per node: divide by the cores for per-core throughput.
#
#   WORKLOAD=/tmp/bench/w10k OUT=/tmp/bench/cluster benches/cluster/run.sh
#
# Needs `cargo build --release --bins` and the workload
# (`python3 ../shared/peer/gen_lp.py --series 10000 --points-per-series 100 --out /tmp/bench/w10k`).
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${WORKLOAD:-/tmp/bench/w10k}
OUT=${OUT:-/tmp/bench/cluster}
PEER=${PEER_DIR:-../shared/peer}
BIN=target/release
PORT=${BASE_PORT:-29186}
rm -rf "$OUT"
mkdir -p "$OUT"

q() { curl -sf -XPOST "http://127.0.0.1:$1/query" --data-urlencode "q=$2" >/dev/null; }
ingest() { # label port [consistency] [server pid]
    python3 benches/cluster/ingest_consistency.py --url "http://127.0.0.1:$2" --db bench \
        --workload "$W" --threads 4 --no-create ${3:+--consistency "$3"} \
        ${4:+--server-pid "$4"} --label "$1" --json-out "$OUT/$1.json" >"$OUT/$1.log" 2>&1
    echo "$1: $(tail -1 "$OUT/$1.log")"
}

# influxd 1.6.7, one node.
PID=$(NICE=-10 "$PEER/influxd_peer.sh" start "$OUT/influxd" "$PORT" | tail -1)
q "$PORT" "CREATE DATABASE bench"
ingest influxd "$PORT" "" "$PID"
"$PEER/influxd_peer.sh" stop "$OUT/influxd"

# One Tessera data node.
PID=$(NICE=-10 benches/peer/tessera_peer.sh start "$OUT/single" "$((PORT + 100))" | tail -1)
q "$((PORT + 100))" "CREATE DATABASE bench"
ingest tessera_1node "$((PORT + 100))" "" "$PID"
benches/peer/tessera_peer.sh stop "$OUT/single"

# Three Tessera data nodes, RF 2; writes through the first one, per consistency level.
"$BIN/tessera" up --meta 1 --data 3 --detach --dir "$OUT/cluster" --base-port "$((PORT + 200))" >"$OUT/cluster.log"
C=$((PORT + 200))
for level in any one quorum all; do
    q "$C" "DROP DATABASE bench" || true
    q "$C" "CREATE DATABASE bench WITH REPLICATION 2"
    sleep 1
    ingest "tessera_3node_rf2_$level" "$C" "$level"
done
"$BIN/tessera" down --dir "$OUT/cluster" >/dev/null

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
for name in ["influxd", "tessera_1node"] + ["tessera_3node_rf2_" + l for l in ["any", "one", "quorum", "all"]]:
    p = os.path.join(out, name + ".json")
    if os.path.exists(p):
        r = json.load(open(p))
        rows.append((name, r["lines_per_s"], r["batch_latency_s"]["p50"], r["batch_latency_s"]["p99"]))
base = rows[0][1] if rows else 1
print("| run | lines/s | × influxd | batch p50 ms | batch p99 ms |")
print("|---|---:|---:|---:|---:|")
for name, lps, p50, p99 in rows:
    print(f"| {name} | {lps:,.0f} | {lps / base:.2f} | {1e3 * (p50 or 0):.1f} | {1e3 * (p99 or 0):.1f} |")
PY
