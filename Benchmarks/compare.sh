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
HUB_PID=
trap 'kill $HUB_PID $REDIS_PID 2>/dev/null; wait $HUB_PID $REDIS_PID 2>/dev/null; rm -rf "$DATA"' EXIT
# shellcheck source=fresh-hub.sh
source "$ROOT/Benchmarks/fresh-hub.sh"
start_fresh_hub || exit 1

args=(suite --peers "$PEERS" --sizes "$SIZES" --opt "hub.port=$HUB_PORT" --opt "hub.token=$TOKEN"
      --opt "hub.pid=$HUB_PID" --out "$OUT")
[ -n "${SCENARIOS:-}" ] && args+=(--scenarios "$SCENARIOS")
echo "hub pid $HUB_PID, results in $OUT" >&2
(cd "$BENCH_DIR" && python3 bench.py "${args[@]}")
(cd "$BENCH_DIR" && python3 bench.py report "$OUT")
