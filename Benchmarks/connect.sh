#!/usr/bin/env bash
# Idle memory target: N (50,000) subscribed connections, each on its own topic, held open while the
# hub's RSS is read. One process is held to ~20,000 fds here, so PROCS (3) hub-bench processes of
# N/PROCS connections run in parallel; this script reads the hub's VmRSS (and PSS) before and after,
# and sums the processes' figures.
# Environment: HUB_TOKEN (required), HUB_PID (required for memory), HUB_PORT (8080), HUB_HOST (127.0.0.1),
#   N (50000), PROCS (3), SETTLE (2 s after the last connection subscribed), HUB_BENCH (binary path),
#   OUT (append one JSON line with the totals). Extra arguments go to every hub-bench process.
# Exit status: non-zero if any connection failed or was closed by the hub.
set -uo pipefail

# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
N=${N:-50000}
PROCS=${PROCS:-3}
SETTLE=${SETTLE:-2}
PER=$(((N + PROCS - 1) / PROCS))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((PER + 200)) ]; then
    echo "warning: hard fd limit $(ulimit -Hn) < $((PER + 200)) per process; raise PROCS or 'ulimit -n' (as root)" >&2
fi

kib() { # field (VmRSS: or Pss:) file -> KiB, or empty
    [ -r "$2" ] && awk -v f="$1" '$1 == f { s += $2 } END { if (s != "") print s }' "$2"
}
sample() { # -> "rss pss" of HUB_PID
    [ -n "${HUB_PID:-}" ] || { echo " "; return; }
    echo "$(kib VmRSS: "/proc/$HUB_PID/status") $(kib Pss: "/proc/$HUB_PID/smaps_rollup")"
}

WORK=$(mktemp -d /tmp/hub-bench-connect.XXXXXX)
read -r RSS_BEFORE PSS_BEFORE <<<"$(sample)"
START=$(date +%s.%N)
pids=()
for k in $(seq 1 "$PROCS"); do
    n=$PER
    [ "$k" -eq "$PROCS" ] && n=$((N - PER * (PROCS - 1)))
    "$BENCH" connect --host "$HUB_HOST" --port "$HUB_PORT" --token "$HUB_TOKEN" --n "$n" \
        --hold 3600 --ready-file "$WORK/ready.$k" --release-file "$WORK/release" --json --quiet "$@" \
        >"$WORK/out.$k" 2>"$WORK/err.$k" &
    pids+=($!)
done
echo "started ${#pids[@]} hub-bench processes (${pids[*]}) with $PER connections each; waiting for all to subscribe" >&2

# Wait until every process wrote its ready file (or exited).
deadline=$(($(date +%s) + 600))
while :; do
    ready=0
    for k in $(seq 1 "$PROCS"); do
        if [ -e "$WORK/ready.$k" ] || ! kill -0 "${pids[$((k - 1))]}" 2>/dev/null; then ready=$((ready + 1)); fi
    done
    [ "$ready" -eq "$PROCS" ] && break
    [ "$(date +%s)" -ge "$deadline" ] && { echo "timeout waiting for connections" >&2; break; }
    sleep 0.2
done
ALL_SUBSCRIBED=$(date +%s.%N)
sleep "$SETTLE"
read -r RSS_AFTER PSS_AFTER <<<"$(sample)"
touch "$WORK/release"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

python3 - "$WORK" "$PROCS" "$N" "$START" "$ALL_SUBSCRIBED" "${RSS_BEFORE:-}" "${RSS_AFTER:-}" "${PSS_BEFORE:-}" "${PSS_AFTER:-}" "${OUT:-}" <<'PY'
import json, sys
work, procs, n, start, done, rb, ra, pb, pa, out = sys.argv[1:11]
rows = []
for k in range(1, int(procs) + 1):
    try:
        rows.append(json.loads(open(f"{work}/out.{k}").read().strip().splitlines()[-1]))
    except Exception as e:
        print(f"process {k}: no report ({e}); stderr: {open(f'{work}/err.{k}').read()[-500:]}", file=sys.stderr)
connected = sum(r["connected"] for r in rows)
failed = sum(r["failed_connections"] for r in rows) + (int(procs) - len(rows)) * 0
closed = sum(r["closed_by_server"] for r in rows)
reasons = {}
for r in rows:
    for k, v in r["failure_reasons"].items():
        reasons[k] = reasons.get(k, 0) + v
wall = float(done) - float(start)
per = lambda b, a: (float(a) - float(b)) / connected if b and a and connected else None
total = {
    "scenario": "connect-multi", "n": int(n), "processes": int(procs), "connected": connected,
    "failed_connections": failed, "failure_reasons": reasons, "closed_by_server": closed,
    "connect_wall_s": round(wall, 3),
    "connect_per_s_sum": round(sum(r["connect_per_s"] for r in rows), 1),
    "connect_per_s_wall": round(connected / wall, 1) if wall > 0 else None,
    "handshake_p50_ms_max": max((r["handshake_p50_ms"] or 0) for r in rows) if rows else None,
    "handshake_p99_ms_max": max((r["handshake_p99_ms"] or 0) for r in rows) if rows else None,
    "hub_rss_before_kib": int(rb) if rb else None, "hub_rss_after_kib": int(ra) if ra else None,
    "hub_rss_kib_per_conn": round(per(rb, ra), 2) if per(rb, ra) is not None else None,
    "hub_pss_kib_per_conn": round(per(pb, pa), 2) if per(pb, pa) is not None else None,
    "ok": failed == 0 and closed == 0 and connected == int(n),
}
print(f"connections        {connected:,} of {int(n):,} subscribed ({len(rows)} processes), {failed} failed, {closed} closed by hub")
for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])[:5]:
    print(f"  failure          {v} x {k}")
print(f"connect rate       {total['connect_per_s_sum']:,}/s summed over processes; {total['connect_per_s_wall']:,}/s over the wall time"
      f" ({wall:.2f} s from start until all subscribed, process start-up included)")
print(f"handshake          p50 <= {total['handshake_p50_ms_max']} ms, p99 <= {total['handshake_p99_ms_max']} ms (worst process)")
if total["hub_rss_kib_per_conn"] is not None:
    print(f"hub memory         RSS {int(rb):,} -> {int(ra):,} KiB = {total['hub_rss_kib_per_conn']} KiB/conn"
          + (f" (PSS {total['hub_pss_kib_per_conn']} KiB/conn)" if total["hub_pss_kib_per_conn"] is not None else ""))
else:
    print("hub memory         (set HUB_PID to measure)")
print("result             " + ("OK" if total["ok"] else "FAILED"))
if out:
    with open(out, "a") as f:
        f.write(json.dumps(total) + "\n")
sys.exit(0 if total["ok"] else 1)
PY
py=$?
rm -rf "$WORK"
[ $status -eq 0 ] && [ $py -eq 0 ]
