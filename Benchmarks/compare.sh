#!/usr/bin/env bash
# Side by side with the peers of ../shared/bench in one run (the only ratios that count on this
# noisy 2-core machine): starts a fresh release hub, runs the harness's suite for the hub and the
# given peers at the given sizes, and appends the JSON lines to Benchmarks/results/.
#   Benchmarks/compare.sh                          # hub + nchan-mem, N=10000, every scenario
#   PEERS=hub,nchan-mem,redis SIZES=1000,10000 Benchmarks/compare.sh
#   SCENARIOS=fanout Benchmarks/compare.sh
# Environment: PEERS, SIZES, SCENARIOS (comma-separated; default all), HUB_PORT (8080),
#   HUB_ENV (extra environment for the hub, e.g. "HUB_REDIS_URL=redis://127.0.0.1:6399"), OUT.
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
# shellcheck disable=SC2086
env HUB_DATA_DIR="$DATA" HUB_PORT="$HUB_PORT" HUB_LOG_LEVEL=warning HUB_MAX_CONNECTIONS_PER_USER=1000000 \
    ${HUB_ENV:-} "$HUB" serve > "$DATA/hub.log" 2>&1 &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null; wait $HUB_PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$HUB_PORT/health" && break; sleep 0.1; done
TOKEN=$(HUB_DATA_DIR="$DATA" "$HUB" token --sub bench --tenant bench --role admin --permission '*:*' --ttl 1d)

args=(suite --peers "$PEERS" --sizes "$SIZES" --opt "hub.port=$HUB_PORT" --opt "hub.token=$TOKEN"
      --opt "hub.pid=$HUB_PID" --out "$OUT")
[ -n "${SCENARIOS:-}" ] && args+=(--scenarios "$SCENARIOS")
echo "hub pid $HUB_PID, results in $OUT" >&2
(cd "$BENCH_DIR" && python3 bench.py "${args[@]}")
(cd "$BENCH_DIR" && python3 bench.py report "$OUT")
