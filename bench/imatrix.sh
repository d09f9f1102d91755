#!/usr/bin/env bash
# Importance-matrix benchmark: `quanta imatrix` against `llama-imatrix` on the 492 M benchmark model (F16; width
# 2048, FFN 5632, 16 heads, 4 KV heads, 8 layers, 32,000-token vocabulary), the same text, 2 threads, 10 chunks
# of 512 tokens. Prints tokens per second for both (llama-imatrix's from its prompt-eval timing line, ours from
# the wall time of the whole run, model loading included).
#
#   LLAMA_IMATRIX=/path/to/llama-imatrix bench/imatrix.sh
#
# The text is Fixtures/runtime/apache2.txt repeated until it gives the chunks.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench}"
input="$dir/llama-492m-f16.gguf"
threads="${THREADS:-2}"
chunks="${CHUNKS:-10}"
llama="${LLAMA_IMATRIX:-}"

mkdir -p "$dir"
bench_model gguf "$input"
text="$dir/imatrix-text.txt"
: > "$text"
for _ in $(seq 1 12); do cat "$root/tests/Quanta.Tests/Fixtures/runtime/apache2.txt" >> "$text"; done

start=$(date +%s.%N)
"${quanta[@]}" imatrix -m "$input" -f "$text" -o "$dir/quanta.imatrix.gguf" -c 512 --chunks "$chunks" -t "$threads" >/dev/null 2>"$dir/quanta-imatrix.log"
end=$(date +%s.%N)
printf 'quanta imatrix:  %8.1f tokens/s (%d tokens, %.1f s wall)\n' "$(echo "$chunks * 512 / ($end - $start)" | bc -l)" $((chunks * 512)) "$(echo "$end - $start" | bc -l)"

if [[ -n "$llama" ]]; then
    start=$(date +%s.%N)
    "$llama" -m "$input" -f "$text" -o "$dir/llama.imatrix.dat" -c 512 --chunks "$chunks" -t "$threads" >"$dir/llama-imatrix.log" 2>&1
    end=$(date +%s.%N)
    printf 'llama-imatrix:   %8.1f tokens/s (%d tokens, %.1f s wall)\n' "$(echo "$chunks * 512 / ($end - $start)" | bc -l)" $((chunks * 512)) "$(echo "$end - $start" | bc -l)"
    grep "prompt eval time" "$dir/llama-imatrix.log" || true
fi
