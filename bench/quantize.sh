#!/usr/bin/env bash
# Whole-process quantization benchmark: wall time and peak memory of `quanta quantize` on a ~1 GB F16
# llama-shaped model (width 2048, FFN 5632, 16 heads, 4 KV heads, 8 layers, 32,000-token vocabulary:
# 492 M parameters), 2 threads, for Q8_0, Q4_0, Q6_K and Q4_K_M.
#
#   bench/quantize.sh            generates the model once into $QUANTA_BENCH_DIR (default /tmp/quanta-bench)
#   bench/quantize.sh --clean    also deletes the model and outputs at the end
#   THREADS=4 TYPES="Q4_K_M" bench/quantize.sh
#
# Peak RSS and wall time come from GNU time (`/usr/bin/time -v`; Debian/Ubuntu package `time`). The input
# is read once before timing, so every run starts from a warm page cache, as llama-quantize's figures did
# (llama-quantize on this model, 2 threads: Q8_0 3.4 s, Q4_0 4.0 s, Q6_K 14.4 s, Q4_K_M 30.6 s, 1.28 GB RSS).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench}"
input="$dir/llama-492m-f16.gguf"
threads="${THREADS:-2}"
types="${TYPES:-Q8_0 Q4_0 Q6_K Q4_K_M}"
clean=0
[[ "${1:-}" == "--clean" ]] && clean=1

mkdir -p "$dir"
bench_model gguf "$input"

printf '%-8s %10s %12s %10s\n' type "wall (s)" "peak RSS" "MB/s in"
bytes=$(stat -c %s "$input")
for type in $types; do
    output="$dir/out-$type.gguf"
    log="$dir/time-$type.txt"
    /usr/bin/time -v "${quanta[@]}" quantize "$input" "$output" "$type" "$threads" >/dev/null 2>"$log" \
        || { echo "error: quantize $type failed:" >&2; tail -5 "$log" >&2; exit 1; }
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss_kb=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
    printf '%-8s %10.2f %9.0f MB %10.0f\n' "$type" "$wall" "$(echo "$rss_kb / 1024" | bc -l)" "$(echo "$bytes / 1000000 / $wall" | bc -l)"
    rm -f "$output" "$log"
    sync
done

if ((clean)); then
    rm -rf "$dir"
fi
