#!/usr/bin/env bash
# Fan-out targets against a running hub (one hub-bench process, 10,000 subscribers on ONE topic):
#   1. unthrottled: 200 events as fast as --window allows (2,000,000 deliveries)
#   2. fixed rate:  30 events at 2/s = 20,000 frames/s
# Environment: HUB_TOKEN (required), HUB_PORT (8080), HUB_HOST (127.0.0.1), HUB_PID (optional: CPU figures),
#   N (10000), HUB_BENCH (path of the hub-bench binary), OUT (append one JSON line per run to this file).
# Extra arguments go to every hub-bench run (e.g. --threads 2 --size 200).
# Exit status: non-zero if any run lost messages or had failed/closed connections.
set -uo pipefail

# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
N=${N:-10000}
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((N + 200)) ]; then
    echo "warning: hard fd limit $(ulimit -Hn) < N + 200; run 'ulimit -n 200000' as root first" >&2
fi

common=(--host "$HUB_HOST" --port "$HUB_PORT" --token "$HUB_TOKEN")
[ -n "${HUB_PID:-}" ] && common+=(--hub-pid "$HUB_PID")

status=0
run() {
    local title=$1
    shift
    echo "== $title"
    if [ -n "${OUT:-}" ]; then
        "$BENCH" fanout "${common[@]}" "$@" --json | tee -a "$OUT" || status=1
    else
        "$BENCH" fanout "${common[@]}" "$@" || status=1
    fi
    echo
}

run "fan-out: 1 topic -> $N subscribers, 200 events unthrottled" --n "$N" --msgs 200 --rate 0 "$@"
run "fan-out: 1 topic -> $N subscribers, 30 events at 2/s ($((N * 2)) frames/s)" --n "$N" --msgs 30 --rate 2 "$@"
exit $status
