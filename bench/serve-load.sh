#!/usr/bin/env bash
# Load test of `quanta serve`: the trained tiny Llama (tests/.../tiny-llama-trained, Q8_0) in a fresh store, the
# server started as a user starts it, then a second process (node, bench/serve-load.mjs) sends /api/chat requests
# on loopback: one client for SINGLE_SECONDS (the single-sequence baseline), then CONCURRENCY (32) clients for
# DURATION seconds (60). Reports requests/s, tokens/s per sequence against the single sequence, latency percentiles, errors
# and lost requests, the server's RSS before and after the run (after a warm-up request), and that SIGTERM stops it
# with exit code 0.
#
#   bench/serve-load.sh
#   CONCURRENCY=32 DURATION=60 SINGLE_SECONDS=15 NUM_PREDICT=32 PORT=11500 bench/serve-load.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
concurrency="${CONCURRENCY:-32}"
seconds="${DURATION:-60}"
single_seconds="${SINGLE_SECONDS:-15}"
num_predict="${NUM_PREDICT:-32}"
port="${PORT:-11500}"
base="http://127.0.0.1:$port"
model_file="$root/tests/Quanta.Tests/Fixtures/models/tiny-llama-trained/tiny-llama-trained.Q8_0.gguf"
command -v node >/dev/null || { echo "error: node not found" >&2; exit 1; }

work="$(mktemp -d /tmp/quanta-serve-load.XXXXXX)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
printf 'FROM %s\n' "$model_file" > "$work/Modelfile"
"${quanta[@]}" create tiny -f "$work/Modelfile" --store "$work/store" >/dev/null

QUANTA_DEBUG=1 QUANTA_HOST="127.0.0.1:$port" "${quanta[@]}" serve --store "$work/store" 2> "$work/server.log" &
server=$!
for _ in $(seq 100); do curl -sf "$base/" >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }

# Warm-up: load the model and answer once, so that "before" is the loaded server's memory.
curl -sf "$base/api/chat" -d '{"model":"tiny","stream":false,"messages":[{"role":"user","content":"The package"}],"options":{"num_predict":8}}' >/dev/null
sleep 3
rss_before=$(rss)

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
echo "single sequence, ${single_seconds}s:"
node "$root/bench/serve-load.mjs" "$base" tiny 1 "$single_seconds" "$num_predict"
echo "$concurrency concurrent clients, ${seconds}s:"
node "$root/bench/serve-load.mjs" "$base" tiny "$concurrency" "$seconds" "$num_predict"
# The server compacts its heap after 1 s without requests (ModelScheduler.CompactWhenIdleAsync): measure after that.
sleep 3
rss_after=$(rss)
echo "server RSS: ${rss_before} kB after warm-up, ${rss_after} kB after the run"
echo "idle compactions: $(grep -o 'compacted the managed heap[^"]*' "$work/server.log" | tail -2 | paste -sd ';')"

kill -TERM "$server"
status=0
wait "$server" || status=$?
echo "SIGTERM: exit code $status; last log line: $(tail -1 "$work/server.log")"
