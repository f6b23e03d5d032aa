#!/usr/bin/env bash
# Side by side with the peers of ../shared/bench in one run (the only ratios that count on this
# noisy 2-core machine): starts a fresh release hub, runs the harness's suite for the hub and the
# given peers at the given sizes, and appends the JSON lines to Benchmarks/results/.
#   Benchmarks/compare.sh                          # hub + nchan-mem, N=10000, every scenario
#   PEERS=hub,nchan-mem,redis SIZES=1000,10000 Benchmarks/compare.sh
#   SCENARIOS=fanout Benchmarks/compare.sh
#   HUB_REDIS=1 PEERS=hub,nchan-redis,redis Benchmarks/compare.sh   # the hub in Redis mode (own redis-server)
# Environment: PEERS, SIZES, SCENARIOS (comma-separated; default all), HUB_PORT (8080),
#   HUB_ENV (extra environment for the hub), HUB_REDIS (1: start a redis-server on HUB_REDIS_PORT (27393)
#   with the settings of the harness's nchan-redis, --save '' --appendonly no, and run the hub on it), OUT.
# Needs: the release hub (make release), and the harness's set-up (see ../shared/bench/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/../shared/bench}
HUB=${HUB:-$ROOT/.build/release/hub}
PEERS=${PEERS:-hub,nchan-mem}
SIZES=${SIZES:-10000}
HUB_PORT=${HUB_PORT:-8080}
OUT=${OUT:-$ROOT/Benchmarks/results/compare-$(date +%Y%m%d-%H%M%S).jsonl}
DATA=$(mktemp -d /tmp/hub-compare.XXXXXX)
mkdir -p "$(dirname "$OUT")"
[ -x "$HUB" ] || { echo "no $HUB: run 'make release' first" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)"
REDIS_PID=
if [ "${HUB_REDIS:-0}" = 1 ]; then
    HUB_REDIS_PORT=${HUB_REDIS_PORT:-27393}
    redis-server --port "$HUB_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 19000 \
        --tcp-backlog 4096 > "$DATA/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 100); do redis-cli -p "$HUB_REDIS_PORT" ping > /dev/null 2>&1 && break; sleep 0.1; done
    HUB_ENV="${HUB_ENV:-} HUB_REDIS_URL=redis://127.0.0.1:$HUB_REDIS_PORT"
    OUT=${OUT%.jsonl}-redis.jsonl
fi
# The hub gets a session of its own, as the harness gives every peer it starts (start_new_session):
# with the kernel's autogroup scheduling a session is one scheduling group, and a hub in the
# harness's session would share a group with the load generator instead of competing with it as
# a peer does. (setsid execs the hub: a background job of this script leads no process group.)
# shellcheck disable=SC2086
setsid env HUB_DATA_DIR="$DATA" HUB_PORT="$HUB_PORT" HUB_LOG_LEVEL=warning HUB_MAX_CONNECTIONS_PER_USER=1000000 \
    ${HUB_ENV:-} "$HUB" serve > "$DATA/hub.log" 2>&1 < /dev/null &
HUB_PID=$!
trap 'kill $HUB_PID $REDIS_PID 2>/dev/null; wait $HUB_PID $REDIS_PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$HUB_PORT/ready" && break; sleep 0.1; done
[ "$(cat "/proc/$HUB_PID/comm" 2>/dev/null)" = "$(basename "$HUB" | cut -c1-15)" ] || { echo "the hub is not process $HUB_PID (see $DATA/hub.log)" >&2; exit 1; }
TOKEN=$(HUB_DATA_DIR="$DATA" "$HUB" token --sub bench --tenant bench --role admin --permission '*:*' --ttl 1d)

args=(suite --peers "$PEERS" --sizes "$SIZES" --opt "hub.port=$HUB_PORT" --opt "hub.token=$TOKEN"
      --opt "hub.pid=$HUB_PID" --out "$OUT")
[ -n "${SCENARIOS:-}" ] && args+=(--scenarios "$SCENARIOS")
echo "hub pid $HUB_PID, results in $OUT" >&2
(cd "$BENCH_DIR" && python3 bench.py "${args[@]}")
(cd "$BENCH_DIR" && python3 bench.py report "$OUT")
