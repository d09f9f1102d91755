#!/usr/bin/env bash
# Copies a ~1 GB GGUF with cp and with Quanta's GgufWriter (memory-mapped read, streamed write, fsync,
# rename) and prints MB/s (10^6 bytes) for each.
#
#   bench/gguf-copy.sh            uses (and generates once) $QUANTA_BENCH_DIR/model-1g.gguf, default /tmp/quanta-bench
#   bench/gguf-copy.sh --clean    also deletes the generated model at the end
#
# The input is read once before timing so both copies start from a warm page cache. cp does not fsync;
# GgufWriter does, so cp is timed alone and followed by `sync FILE` (cp+sync is the fair comparison).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench}"
input="$dir/model-1g.gguf"
clean=0
[[ "${1:-}" == "--clean" ]] && clean=1

mkdir -p "$dir"
dotnet build "$root/bench/Quanta.Benchmarks" -c Release -v quiet -nologo >/dev/null
app="$root/bench/Quanta.Benchmarks/bin/Release/net10.0/Quanta.Benchmarks.dll"

if [[ ! -f "$input" ]]; then
    echo "generating $input ..."
    dotnet "$app" generate-gguf "$input"
fi
bytes=$(stat -c %s "$input")
cat "$input" > /dev/null   # warm the page cache

runs="${RUNS:-5}"
now() { date +%s.%N; }
rate() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%7.3f s  %6.0f MB/s", s, b / 1e6 / s }'; }
time_it() {  # label, command... ; each run starts with no dirty pages and no output file
    local label=$1; shift
    local start end times=()
    for ((run = 1; run <= runs; run++)); do
        rm -f "$out"; sync
        start=$(now); "$@" >/dev/null; end=$(now)
        times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
    done
    local sorted=($(printf '%s\n' "${times[@]}" | sort -g))
    printf '%-26s median %s   best %s   (runs: %s s)\n' "$label" "$(rate "${sorted[$((runs / 2))]}")" "$(rate "${sorted[0]}")" "${times[*]}"
}

out="$dir/copy.gguf"
echo "input: $input ($bytes bytes), $runs runs each"
time_it "cp"                              cp "$input" "$out"
time_it "cp + sync FILE"                  bash -c "cp '$input' '$out' && sync '$out'"
time_it "quanta copy (fsync)"             dotnet "$app" copy "$input" "$out"
cmp -s "$input" "$out" && echo "  (quanta copy is byte-identical to the input)" || { echo "  QUANTA COPY DIFFERS"; exit 1; }
time_it "quanta copy (no fsync)"          dotnet "$app" copy "$input" "$out" --no-fsync
# The in-process figure, without the runtime's start-up:
rm -f "$out"; sync
dotnet "$app" copy "$input" "$out"
rm -f "$out"

if (( clean )); then
    rm -f "$input"
    rmdir "$dir" 2>/dev/null || true
fi
