# Sourced by the scripts that run hub-bench against a running hub: ROOT, BENCH (HUB_BENCH or the release
# build), HUB_TOKEN (required), HUB_PORT (8080), HUB_HOST (127.0.0.1); exits 2 when hub-bench is missing.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${HUB_BENCH:-$ROOT/.build/release/hub-bench}
: "${HUB_TOKEN:?set HUB_TOKEN (hub token --sub bench --tenant bench --role admin --permission '*:*')}"
HUB_PORT=${HUB_PORT:-8080}
HUB_HOST=${HUB_HOST:-127.0.0.1}
if [ ! -x "$BENCH" ]; then
    echo "no $BENCH: build it with 'swift build -c release --product hub-bench' (or set HUB_BENCH)" >&2
    exit 2
fi
