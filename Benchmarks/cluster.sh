#!/usr/bin/env bash
# Cross-node delivery: the same hub-bench fan-out against
#   1. embedded  — one hub, no Redis                    (the baseline)
#   2. redis-1   — one hub on Redis, subscribers on it  (the cost of going through Redis)
#   3. redis-3   — three hubs on one Redis, subscribers spread over the three, publisher on node 1
# Each configuration gets fresh processes (release build) and a fresh redis-server
# (--save '' --appendonly no, like the harness's nchan-redis), one after another in one run.
#   Benchmarks/cluster.sh                               # N=3000, 300 events at 20/s (60,000 frames/s)
#   N=1000 MSGS=300 RATE=20 Benchmarks/cluster.sh
#   CONFIGS=embedded,redis-3 RUNS=3 Benchmarks/cluster.sh
#   CONFIGS=embedded,redis-3,redis-3:1 RUNS=3 Benchmarks/cluster.sh   # :1 = one event loop thread per hub
# Environment: N, MSGS, RATE (0 = unthrottled), RUNS (per configuration, default 1), CONFIGS,
#   BASE_PORT (18480: hubs on BASE_PORT+1…+3), OUT (JSON lines; default Benchmarks/results/cluster-*.jsonl).
#   BENCH_SESSION (1: hub-bench runs in a session of its own, see below; 0: in this script's, with the servers).
# Extra arguments go to every hub-bench run.
#
# The servers (hubs and redis-server) share this script's session and hub-bench gets one of its own.
# With the kernel's autogroup scheduling a session is one scheduling group, and two busy groups get
# half of the machine each. In one group every thread counts alone: three hubs with two event loops
# each left the load generator's threads a quarter of the two cores where one hub left them half,
# and its reading, not the hubs' delivery, made the difference (Docs/performance.md, "The load
# generator's share"). compare.sh gives the hub its own session for the same reason.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HUB=${HUB:-$ROOT/.build/release/hub}
BENCH=${HUB_BENCH:-$ROOT/.build/release/hub-bench}
N=${N:-3000}; MSGS=${MSGS:-300}; RATE=${RATE:-20}; RUNS=${RUNS:-1}
CONFIGS=${CONFIGS:-embedded,redis-1,redis-3}
BASE_PORT=${BASE_PORT:-18480}
OUT=${OUT:-$ROOT/Benchmarks/results/cluster-$(date +%Y%m%d-%H%M%S).jsonl}
for binary in "$HUB" "$BENCH"; do [ -x "$binary" ] || { echo "no $binary: run 'make release' first" >&2; exit 2; }; done
command -v redis-server >/dev/null || { echo "redis-server is missing (make setup installs it)" >&2; exit 2; }
mkdir -p "$(dirname "$OUT")"
ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/hub-cluster.XXXXXX)
PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_all; rm -rf "$WORK"' EXIT

SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
wait_http() { for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$1$2" && return 0; sleep 0.05; done; echo "port $1 never answered $2" >&2; return 1; }

# start_hubs COUNT REDIS_URL: hubs on BASE_PORT+1…; sets HUB_PIDS (comma-separated)
start_hubs() {
    local count=$1 url=$2 pids=()
    for i in $(seq 1 "$count"); do
        local port=$((BASE_PORT + i))
        env HUB_DATA_DIR="$WORK/node$i" HUB_PORT="$port" HUB_JWT_SECRET="$SECRET" HUB_NODE_ID="node$i" \
            HUB_LOG_LEVEL=warning HUB_MAX_CONNECTIONS_PER_USER=1000000 ${url:+HUB_REDIS_URL="$url"} \
            ${NODE_LOOPS:+HUB_EVENT_LOOP_THREADS="$NODE_LOOPS"} \
            "$HUB" serve > "$WORK/node$i.log" 2>&1 &
        PIDS+=($!); pids+=($!)
    done
    for i in $(seq 1 "$count"); do wait_http $((BASE_PORT + i)) /ready; done
    HUB_PIDS=$(IFS=,; echo "${pids[*]}")
}

start_redis() {
    local port=$((BASE_PORT + 9))
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --maxclients 19000 --tcp-backlog 4096 \
        > "$WORK/redis.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    REDIS_URL="redis://127.0.0.1:$port"
}

SESSION="setsid --wait"; [ "${BENCH_SESSION:-1}" = 0 ] && SESSION=
status=0
# Round by round (every configuration once, then again), so that drift on the machine spreads over all of them.
for run in $(seq 1 "$RUNS"); do
    for config in ${CONFIGS//,/ }; do
        # CONFIG:T runs each of its hubs with T event loop threads (HUB_EVENT_LOOP_THREADS).
        NODE_LOOPS=; [[ $config == *:* ]] && NODE_LOOPS=${config#*:}
        case ${config%%:*} in
            embedded) start_hubs 1 "" ; ports=$((BASE_PORT + 1)) ;;
            redis-1)  start_redis; start_hubs 1 "$REDIS_URL"; ports=$((BASE_PORT + 1)) ;;
            redis-3)  start_redis; start_hubs 3 "$REDIS_URL"; ports="$((BASE_PORT + 1)),$((BASE_PORT + 2)),$((BASE_PORT + 3))" ;;
            *) echo "unknown configuration $config" >&2; exit 2 ;;
        esac
        TOKEN=$(HUB_DATA_DIR="$WORK/node1" HUB_JWT_SECRET="$SECRET" "$HUB" token --sub bench --tenant bench --role admin \
            --permission '*:*' --ttl 1d)
        echo "== $config (run $run): $N subscribers on $ports, $MSGS events at ${RATE}/s, publisher on $((BASE_PORT + 1))" >&2
        line=$($SESSION "$BENCH" fanout --port $((BASE_PORT + 1)) --sub-ports "$ports" --token "$TOKEN" --hub-pid "$HUB_PIDS" \
            --n "$N" --msgs "$MSGS" --rate "$RATE" --json --quiet "$@") || status=1
        echo "{\"config\":\"$config\",\"run\":$run,${line#\{}" | tee -a "$OUT"
        stop_all
    done
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("\n| config | run | delivered/s | p50 ms | p99 ms | p99.9 ms | max ms | lost | hub CPU % | hub CPU µs/delivery |")
print("|---|---|---|---|---|---|---|---|---|---|")
def f(v, scale=1):
    return "-" if v is None else f"{v / scale:,.2f}" if scale != 1 or isinstance(v, float) else f"{v:,}"
for r in rows:
    print(f"| {r['config']} | {r['run']} | {f(r.get('delivered_per_s'))} | {f(r.get('latency_p50_us'), 1000)} | "
          f"{f(r.get('latency_p99_us'), 1000)} | {f(r.get('latency_p999_us'), 1000)} | {f(r.get('latency_max_us'), 1000)} | "
          f"{f(r.get('lost'))} | {f(r.get('hub_cpu_pct'))} | {f(r.get('hub_cpu_us_per_delivery'))} |")
from statistics import median
configs = list(dict.fromkeys(r["config"] for r in rows))
p99 = {c: median(r["latency_p99_us"] / 1000 for r in rows if r["config"] == c and r.get("latency_p99_us") is not None) for c in configs}
print("\n| config | median p99 ms | over embedded |\n|---|---|---|")
for c in configs:
    over = f"{p99[c] - p99['embedded']:+.2f} ms" if "embedded" in p99 else "-"
    print(f"| {c} | {p99[c]:.2f} | {over} |")
PY
exit $status
