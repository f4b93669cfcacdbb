#!/usr/bin/env bash
# tessera_peer.sh -- a throwaway single-data-node Tessera cluster on loopback, with the
# start/stop contract of ../shared/peer/influxd_peer.sh, so run_suite.py and
# ingest_bench.py can measure it side by side with influxd.
#
#   tessera_peer.sh start DIR [PORT]   one meta node + one data node (HTTP on PORT); prints
#                                      the data node's PID last
#   tessera_peer.sh stop  DIR          SIGTERM both (SIGKILL after 30 s)
#   tessera_peer.sh status DIR         print the data node's PID; exit 1 if not running
#
# Layout under DIR: data/ and wal/ (what ingest_bench.py measures), meta/, node/ (data
# node identity), metanode/ (the meta node), *.toml, *.log, *.pid.
# Environment: TESSERA_BIN [target/release] where influxd and influxd-meta are;
# META_PORT [PORT+100] (raft on META_PORT-2); RPC_PORT [PORT+2]; LOG_LEVEL [warn];
# SNAPSHOT_COLD [10s]; FULL_COLD [30s]; NICE [0]; READY_TIMEOUT [60]; DATA_TOML (lines
# added to the data node's [data] table, e.g. 'max-cores = 1'); EXTRA_TOML (appended
# to the data node's config, e.g. $'[cluster]\n  chunked-slice-points = 100').
# CQ_ENABLED [false]: run continuous queries (the data node asks for the CQ lease).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${TESSERA_BIN:-$here/../../target/release}
[ $# -ge 2 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
MODE=$1
DIR=$2
PORT=${3:-8086}
META_PORT=${META_PORT:-$((PORT + 100))}
RAFT_PORT=$((META_PORT - 2))
RPC=${RPC_PORT:-$((PORT + 2))}

license() {
    # The bundled trial license, as the binaries carry it.
    local f="$here/../../metaplane/license/trial.license"
    [ -f "$f" ] && echo "$f" || { echo "trial license not found at $f" >&2; exit 1; }
}

wait_http() { # url expected-status
    local deadline=$(( $(date +%s) + ${READY_TIMEOUT:-60} ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)
        [ "$code" = "$2" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

start() {
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    local lic; lic=$(license)
    cat >"$DIR/influxd-meta.toml" <<CONF
hostname = "127.0.0.1"
[meta]
  dir = "$DIR/metanode"
  bind-address = "127.0.0.1:$RAFT_PORT"
  http-bind-address = "127.0.0.1:$META_PORT"
[enterprise]
  license-path = "$lic"
[logging]
  level = "${LOG_LEVEL:-warn}"
CONF
    cat >"$DIR/influxd.toml" <<CONF
hostname = "127.0.0.1"
bind-address = "127.0.0.1:$RPC"
[meta]
  dir = "$DIR/node"
[data]
  dir = "$DIR/data"
  wal-dir = "$DIR/wal"
  cache-snapshot-write-cold-duration = "${SNAPSHOT_COLD:-10s}"
  compact-full-write-cold-duration = "${FULL_COLD:-30s}"
${DATA_TOML:-}
[hinted-handoff]
  dir = "$DIR/hh"
[http]
  bind-address = "127.0.0.1:$PORT"
[continuous_queries]
  enabled = ${CQ_ENABLED:-false}
[monitor]
  store-enabled = false
[enterprise]
  license-path = "$lic"
[logging]
  level = "${LOG_LEVEL:-warn}"
${EXTRA_TOML:-}
CONF
    nice -n "${NICE:-0}" "$BIN/influxd-meta" -config "$DIR/influxd-meta.toml" >>"$DIR/influxd-meta.log" 2>&1 &
    echo $! >"$DIR/influxd-meta.pid"
    nice -n "${NICE:-0}" "$BIN/influxd" -config "$DIR/influxd.toml" >>"$DIR/influxd.log" 2>&1 &
    local pid=$!
    echo $pid >"$DIR/influxd.pid"
    if [ "${NICE:-0}" -lt 0 ] 2>/dev/null; then
        for p in "$(cat "$DIR/influxd-meta.pid")" "$pid"; do
            echo "${NICE}" >"/proc/$p/autogroup" 2>/dev/null || true
        done
    fi
    wait_http "http://127.0.0.1:$META_PORT/ping" 204
    wait_http "http://127.0.0.1:$PORT/ping" 204
    # Form the cluster unless it already is one (a restart of the same DIR).
    if ! curl -s "http://127.0.0.1:$META_PORT/status" | grep -q '"id":[1-9]'; then
        curl -sf -XPOST "http://127.0.0.1:$META_PORT/join" -d "{\"addr\":\"127.0.0.1:$META_PORT\"}" >/dev/null
    fi
    curl -sf -XPOST "http://127.0.0.1:$META_PORT/add-data" -d "{\"addr\":\"127.0.0.1:$RPC\"}" >/dev/null
    echo "$pid"
}

stop_pid() {
    local f=$1
    [ -f "$f" ] || return 0
    local pid; pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
}

case "$MODE" in
    start) start ;;
    stop) stop_pid "$DIR/influxd.pid"; stop_pid "$DIR/influxd-meta.pid" ;;
    status) [ -f "$DIR/influxd.pid" ] && kill -0 "$(cat "$DIR/influxd.pid")" 2>/dev/null && cat "$DIR/influxd.pid" ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
