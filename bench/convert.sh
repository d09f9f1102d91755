#!/usr/bin/env bash
# Whole-process conversion benchmark: `quanta convert` of a ~1 GB BF16 safetensors checkpoint of the
# quantize benchmark's shape (width 2048, FFN 5632, 16 heads, 4 KV heads, 8 layers, 32,000-token vocabulary:
# 492 M parameters), 2 threads, straight to Q4_K_M and Q8_0, against the two-step route
# (`convert --type f16` then `quantize`): wall time, peak RSS and bytes written to disk.
#
#   bench/convert.sh            generates the checkpoint once into $QUANTA_BENCH_DIR (default /tmp/quanta-bench-convert)
#   bench/convert.sh --clean    also deletes the checkpoint and outputs at the end
#   THREADS=4 TYPES="Q4_K_M" bench/convert.sh
#
# Peak RSS and wall time come from GNU time (`/usr/bin/time -v`). The checkpoint is read once before timing,
# so every run starts from a warm page cache.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench-convert}"
checkpoint="$dir/llama-492m-bf16"
threads="${THREADS:-2}"
types="${TYPES:-Q4_K_M Q8_0}"
clean=0
[[ "${1:-}" == "--clean" ]] && clean=1

mkdir -p "$dir"
bench_model checkpoint "$checkpoint"

# run NAME ARGS...: runs quanta under GNU time; sets wall (s) and rss (MB).
run() {
    local log="$dir/time.txt"
    /usr/bin/time -v "${quanta[@]}" "$@" >/dev/null 2>"$log" \
        || { echo "error: quanta $* failed:" >&2; tail -5 "$log" >&2; exit 1; }
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(echo "$(grep "Maximum resident set size" "$log" | awk '{print $NF}') / 1024" | bc -l)
    rm -f "$log"
}

printf '%-8s %-22s %10s %12s %14s\n' type route "wall (s)" "peak RSS" "disk written"
for type in $types; do
    out="$dir/out-$type.gguf"
    run convert "$checkpoint" --type "$type" -o "$out" --threads "$threads"
    size=$(stat -c %s "$out")
    printf '%-8s %-22s %10.2f %9.0f MB %11.0f MB\n' "$type" "one pass" "$wall" "$rss" "$(echo "$size / 1000000" | bc -l)"
    rm -f "$out"
    sync

    f16="$dir/f16.gguf"
    run convert "$checkpoint" --type f16 -o "$f16" --threads "$threads"
    wall1=$wall; rss1=$rss; size1=$(stat -c %s "$f16")
    sync
    run quantize "$f16" "$out" "$type" "$threads"
    size2=$(stat -c %s "$out")
    printf '%-8s %-22s %10.2f %9.0f MB %11.0f MB\n' "$type" "convert f16 + quantize" "$(echo "$wall1 + $wall" | bc -l)" \
        "$(echo "if ($rss1 > $rss) $rss1 else $rss" | bc -l)" "$(echo "($size1 + $size2) / 1000000" | bc -l)"
    printf '%-8s %-22s %10.2f %9.0f MB\n' "" "  (convert f16 alone)" "$wall1" "$rss1"
    rm -f "$f16" "$out"
    sync
done

if ((clean)); then
    rm -rf "$dir"
fi
