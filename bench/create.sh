#!/usr/bin/env bash
# create --quantize versus quantize: wall time of `quanta create NAME --quantize Q4_K_M` (quantizing straight
# into the store's blob while hashing it, then the config, text layers and manifest) against
# `quanta quantize IN OUT Q4_K_M` of the same ~1 GB F16 model (the one bench/quantize.sh generates), 2 threads.
# The target is create <= 1.05 x quantize. The stored model blob must equal quantize's output byte for byte.
#
#   bench/create.sh              generates the model once into $QUANTA_BENCH_DIR (default /tmp/quanta-bench)
#   bench/create.sh --clean      also deletes the model, the store and the outputs at the end
#   THREADS=4 TYPE=Q8_0 ROUNDS=3 bench/create.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench}"
input="$dir/llama-492m-f16.gguf"
threads="${THREADS:-2}"
type="${TYPE:-Q4_K_M}"
rounds="${ROUNDS:-2}"
clean=0
[[ "${1:-}" == "--clean" ]] && clean=1

mkdir -p "$dir"
bench_model gguf "$input"
printf 'FROM %s\nPARAMETER temperature 0.7\nSYSTEM You are a benchmark.\n' "$input" > "$dir/Modelfile"

seconds() { local start=$1 end=$2; echo "($end - $start) / 1000000000" | bc -l; }
# CPU seconds (user + system) of the last command, from GNU time's log: steadier than wall time on a shared VM.
cpu() { awk '/User time/ {u=$NF} /System time/ {s=$NF} END {print u + s}' "$1"; }

best_quantize=""
best_create=""
for ((round = 1; round <= rounds; round++)); do
    # Each command starts from the same state: no earlier output on disk and nothing left to write back.
    # (Run after the other's 300 MB output, a command pays ~0.7 s of kernel time for it, whichever it is.)
    rm -rf "$dir/store" "$dir/out-$type.gguf"
    sync
    start=$(date +%s%N)
    /usr/bin/time -v "${quanta[@]}" quantize "$input" "$dir/out-$type.gguf" "$type" "$threads" >/dev/null 2>"$dir/quantize.log" \
        || { tail -5 "$dir/quantize.log" >&2; exit 1; }
    q=$(seconds "$start" "$(date +%s%N)")
    quantized_digest=$(sha256sum "$dir/out-$type.gguf" | cut -d' ' -f1)
    rm -f "$dir/out-$type.gguf"
    sync
    start=$(date +%s%N)
    /usr/bin/time -v "${quanta[@]}" create bench -f "$dir/Modelfile" --quantize "$type" --threads "$threads" --store "$dir/store" >/dev/null 2>"$dir/create.log" \
        || { tail -5 "$dir/create.log" >&2; exit 1; }
    c=$(seconds "$start" "$(date +%s%N)")
    sync
    printf 'round %d: quantize %6.2f s (%6.2f s CPU)   create --quantize %6.2f s (%6.2f s CPU)   wall ratio %.3f   CPU ratio %.3f\n' \
        "$round" "$q" "$(cpu "$dir/quantize.log")" "$c" "$(cpu "$dir/create.log")" "$(echo "$c / $q" | bc -l)" "$(echo "$(cpu "$dir/create.log") / $(cpu "$dir/quantize.log")" | bc -l)"
    if [[ -z "$best_quantize" ]] || (($(echo "$q < $best_quantize" | bc -l))); then best_quantize=$q; fi
    if [[ -z "$best_create" ]] || (($(echo "$c < $best_create" | bc -l))); then best_create=$c; fi
done

blob="$dir/store/blobs/$(grep -o 'creating new layer sha256:[0-9a-f]*' "$dir/create.log" | head -1 | sed 's/.*sha256:/sha256-/')"
# Blobs are named by their SHA-256: the stored model must carry the digest of quantize's output, and its
# bytes must still hash to it.
if [[ "$blob" == */sha256-"$quantized_digest" ]] && [[ "$(sha256sum "$blob" | cut -d' ' -f1)" == "$quantized_digest" ]]; then same="identical"; else same="DIFFERENT"; fi
printf '%s, %s threads, best of %d: quantize %.2f s, create --quantize %.2f s, create/quantize %.3f (target <= 1.050); stored model blob %s to the quantize output\n' \
    "$type" "$threads" "$rounds" "$best_quantize" "$best_create" "$(echo "$best_create / $best_quantize" | bc -l)" "$same"

rm -rf "$dir/store" "$dir/out-$type.gguf" "$dir/quantize.log" "$dir/create.log" "$dir/Modelfile"
if ((clean)); then
    rm -rf "$dir"
fi
