#!/usr/bin/env bash
# Operations REST targets against a running hub (hub-bench operations …):
#   1. waiters: W (10,000) parked long-polls over OPS (10) operations; hub memory (target: < 100 MiB for
#      10,000); then one PATCH per operation wakes them (wake latency; every waiter gets the new version)
#   2. crud:    WORKERS (32) workers create → PATCH (If-Match) → GET → … ; each kind's rate and latency
#   3. get:     GET /api/v1/operations/{id} vs GET /health on CONNS (50) connections, DURATION (10) s per
#               phase, ROUNDS (2) rounds (target: get ≥ 70% of health)
# The waiters run first: their memory figure is only meaningful on a freshly started hub.
# Environment: HUB_TOKEN (required; operation:create/read/update), HUB_PORT (8080), HUB_HOST (127.0.0.1),
#   HUB_PID (memory and CPU figures; needed to see the waiters parked), W, OPS, WORKERS, CONNS, DURATION,
#   ROUNDS, SKIP (comma-separated: waiters,crud,get), WAITERS_MODE (connect-first, the default: open
#   every connection, then write every long-poll, so the figure includes the high-water mark of W idle
#   connections; send-on-connect: each batch of connects writes its long-polls at once, as clients that
#   connect to ask do), HUB_BENCH (path of the hub-bench binary),
#   OUT (append one JSON line per run to this file).
# Extra arguments go to every hub-bench run (e.g. --threads 2).
# Exit status: non-zero if any run had errors (unexpected statuses, lost requests, waiters without the
# new version, anomalies). A missed target is reported, not an error.
set -uo pipefail

# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
W=${W:-10000}
OPS=${OPS:-10}
WORKERS=${WORKERS:-32}
CONNS=${CONNS:-50}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
SKIP=${SKIP:-}
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((W + 200)) ]; then
    echo "warning: hard fd limit $(ulimit -Hn) < W + 200; raise it ('ulimit -n') first" >&2
fi
[ -z "${HUB_PID:-}" ] && echo "warning: no HUB_PID: no memory or CPU figures, and the waiters are given a fixed --settle instead of watching the hub go idle" >&2

common=(--host "$HUB_HOST" --port "$HUB_PORT" --token "$HUB_TOKEN")
[ -n "${HUB_PID:-}" ] && common+=(--hub-pid "$HUB_PID")

status=0
run() {
    local title=$1 mode=$2
    shift 2
    case ",$SKIP," in *",$mode,"*) return ;; esac
    echo "== $title"
    echo "   load: $(cat /proc/loadavg)   swift-build running: $(pgrep -c swift-build || true)"
    if [ -n "${OUT:-}" ]; then
        "$BENCH" operations "$mode" "${common[@]}" "$@" --json | tee -a "$OUT" || status=1
    else
        "$BENCH" operations "$mode" "${common[@]}" "$@" || status=1
    fi
    echo
}

mode=()
[ "${WAITERS_MODE:-connect-first}" = send-on-connect ] && mode=(--send-on-connect)
run "long-poll: $W waiters over $OPS operations (${WAITERS_MODE:-connect-first}), then one PATCH per operation" waiters --n "$W" --ops "$OPS" "${mode[@]}" "$@"
run "create/patch/get: $WORKERS workers, ${DURATION} s" crud --workers "$WORKERS" --duration "$DURATION" "$@"
run "GET /operations/{id} vs GET /health: $CONNS connections, ${DURATION} s per phase, $ROUNDS rounds" get --conns "$CONNS" --duration "$DURATION" --rounds "$ROUNDS" "$@"
exit $status
