# Sourced by compare.sh and heartbeats.sh. start_fresh_hub starts "$HUB serve" on HUB_PORT with its
# data in DATA (and the settings in HUB_ENV on top), waits until it is ready, and sets HUB_PID and
# TOKEN (a token that may subscribe and publish everywhere in tenant `bench`); it fails when the
# hub does not come up.
#
# The hub gets a session of its own, as the harness gives every peer it starts (start_new_session):
# with the kernel's autogroup scheduling a session is one scheduling group, and a hub in the
# harness's session would share a group with the load generator instead of competing with it as
# a peer does. (setsid execs the hub: a background job of this script leads no process group.)
start_fresh_hub() {
    # shellcheck disable=SC2086
    setsid env HUB_DATA_DIR="$DATA" HUB_PORT="$HUB_PORT" HUB_LOG_LEVEL=warning HUB_MAX_CONNECTIONS_PER_USER=1000000 \
        ${HUB_ENV:-} "$HUB" serve > "$DATA/hub.log" 2>&1 < /dev/null &
    HUB_PID=$!
    for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$HUB_PORT/ready" && break; sleep 0.1; done
    [ "$(cat "/proc/$HUB_PID/comm" 2>/dev/null)" = "$(basename "$HUB" | cut -c1-15)" ] ||
        { echo "the hub is not process $HUB_PID (see $DATA/hub.log)" >&2; return 1; }
    TOKEN=$(HUB_DATA_DIR="$DATA" "$HUB" token --sub bench --tenant bench --role admin --permission '*:*' --ttl 1d)
}
