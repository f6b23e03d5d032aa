#!/usr/bin/env bash
# What heartbeats cost: a fresh release hub with a short heartbeat interval holds N idle subscribed
# connections (the harness's `connect` scenario, kept open with --settle) while this script counts
# the hub's CPU time over WINDOW seconds. Every connection is pinged once per INTERVAL and answers
# with a pong, so the hub's CPU over the window divided by the pings in it is the cost of one ping
# and its pong (writing the ping, reading the pong, the timer that sends it).
#   Benchmarks/heartbeats.sh                   # N=10000, INTERVAL=1: 10,000 pings/s
#   INTERVAL=600 Benchmarks/heartbeats.sh      # the same connections with no ping in the window: the idle floor
# Environment: N, INTERVAL (seconds), WINDOW (seconds), HUB_PORT (18191), HUB (release binary), BENCH_DIR.
# Needs: the release hub (make release), and the harness's set-up (see ../shared/bench/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/../shared/bench}
HUB=${HUB:-$ROOT/.build/release/hub}
N=${N:-10000}; INTERVAL=${INTERVAL:-1}; WINDOW=${WINDOW:-10}; HUB_PORT=${HUB_PORT:-18191}
[ -x "$HUB" ] || { echo "no $HUB: run 'make release' first" >&2; exit 2; }
DATA=$(mktemp -d /tmp/hub-heartbeats.XXXXXX)
ulimit -n "$(ulimit -Hn)"
HUB_PID=
trap 'kill $HUB_PID 2>/dev/null; wait $HUB_PID 2>/dev/null; rm -rf "$DATA"' EXIT
# shellcheck source=fresh-hub.sh
source "$ROOT/Benchmarks/fresh-hub.sh"
HUB_ENV="HUB_HEARTBEAT_INTERVAL_SECONDS=$INTERVAL" start_fresh_hub || exit 1

ticks() { awk '{s += $14 + $15} END {print s}' /proc/"$1"/task/*/stat; }
# Held open for the settle time: connect, then 8 s for the connect storm to pass, then the window.
(cd "$BENCH_DIR" && python3 bench.py run --peer hub --opt port="$HUB_PORT" --opt token="$TOKEN" --opt pid="$HUB_PID" \
    --scenario connect --n "$N" --settle $((WINDOW + 12)) 2>&1 | grep -o "connected [0-9/]* in [0-9.]*s") &
BENCH=$!
for _ in $(seq 1 600); do pgrep -x wsload > /dev/null && break; sleep 0.1; done
for _ in $(seq 1 600); do [ "$(ss -Htn state established "( sport = :$HUB_PORT )" | wc -l)" -ge "$N" ] && break; sleep 0.1; done
sleep 8
before=$(ticks $HUB_PID); sleep "$WINDOW"; after=$(ticks $HUB_PID)
wait $BENCH
hz=$(getconf CLK_TCK)
python3 - "$before" "$after" "$hz" "$N" "$INTERVAL" "$WINDOW" <<'PY'
import sys
before, after, hz, n, interval, window = (float(x) for x in sys.argv[1:])
cpu = (after - before) / hz
pings = n * window / interval
line = f"{int(n)} connections, heartbeat every {interval:g} s, {window:g} s window: hub CPU {cpu:.2f} s ({100 * cpu / window:.1f}% of a core)"
# With an interval longer than the window not every connection is pinged in it: no per-ping figure.
print(line + (f"; {cpu * 1e6 / pings:.1f} µs per ping and pong" if interval <= window else "; the idle floor"))
PY
