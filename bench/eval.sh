#!/usr/bin/env bash
# Whole-process benchmark of `quanta eval`: the 492 M-parameter benchmark model (random weights: speed only) as an
# F16 base and 4 candidates quantized from it (Q8_0 Q6_K Q4_K_M Q3_K_M), evaluated over CHUNKS chunks of 512 tokens
# of text, against llama.cpp's llama-perplexity doing the same work: the base once with --kl-divergence-base,
# then each candidate with --kl-divergence. Prints both wall times and their ratio, and the mean KLD
# each tool found (they must agree: same method, same text).
#
#   bench/eval.sh                                   CHUNKS=20 THREADS=2, text: the trained tiny model's heldout.txt
#   LLAMA_PERPLEXITY=/path/to/llama-perplexity CHUNKS=4 TEXT=file.txt bench/eval.sh
#
# llama.cpp is built from source beside the project and never committed. Models live in $QUANTA_BENCH_DIR
# (default /tmp/quanta-bench-inference, shared with bench/inference.sh, which makes the checkpoint the same way).
# eval's own speed tests are switched off (--pp 0 --tg 0): llama-perplexity has none, and the work must match.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench-inference}"
checkpoint="$dir/llama-492m-bf16"
threads="${THREADS:-2}"
chunks="${CHUNKS:-20}"
types="${TYPES:-Q8_0 Q6_K Q4_K_M Q3_K_M}"
text="${TEXT:-$root/tests/Quanta.Tests/Fixtures/models/tiny-llama-trained/heldout.txt}"

llama_perplexity="${LLAMA_PERPLEXITY:-}"
if [[ -z "$llama_perplexity" ]]; then
    for candidate in "$root/../oracle/llama.cpp/build/bin/llama-perplexity" "$root/../../oracle/llama.cpp/build/bin/llama-perplexity" "$(command -v llama-perplexity || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then llama_perplexity="$candidate"; break; fi
    done
fi
if [[ -z "$llama_perplexity" || ! -x "$llama_perplexity" ]]; then
    echo "error: llama-perplexity not found; build llama.cpp and set LLAMA_PERPLEXITY=/path/to/llama-perplexity" >&2
    exit 1
fi
command -v jq >/dev/null || { echo "error: jq not found" >&2; exit 1; }

mkdir -p "$dir"
bench_model checkpoint "$checkpoint"
base="$dir/llama-492m-F16.gguf"
if [[ ! -f "$base" ]]; then
    echo "converting to F16 ..." >&2
    "${quanta[@]}" convert "$checkpoint" --type f16 -o "$base" --threads "$threads" >/dev/null 2>&1
fi
candidates=()
for type in $types; do
    model="$dir/llama-492m-eval-$type.gguf"
    if [[ ! -f "$model" ]]; then
        echo "quantizing to $type ..." >&2
        "${quanta[@]}" quantize "$base" "$model" "$type" "$threads" >/dev/null 2>&1
    fi
    candidates+=("$model")
    cat "$model" > /dev/null
done
cat "$base" > /dev/null

echo "llama-perplexity: base, then ${#candidates[@]} candidates, $chunks chunks ..." >&2
llama_start=$(date +%s.%N)
"$llama_perplexity" -m "$base" -f "$text" -c 512 --chunks "$chunks" -t "$threads" --kl-divergence-base "$dir/llama-base.kld" >"$dir/llama-base.txt" 2>&1
for model in "${candidates[@]}"; do
    "$llama_perplexity" -m "$model" -c 512 -t "$threads" --kl-divergence-base "$dir/llama-base.kld" --kl-divergence >"$dir/llama-$(basename "$model").kld.txt" 2>&1
done
llama_time=$(echo "$(date +%s.%N) - $llama_start" | bc)

echo "quanta eval: the same ..." >&2
quanta_start=$(date +%s.%N)
"${quanta[@]}" eval "$base" "${candidates[@]}" -f "$text" -c 512 --chunks "$chunks" -t "$threads" --pp 0 --tg 0 --json \
    > "$dir/quanta-eval.json" 2>"$dir/quanta-eval.err" || { tail -3 "$dir/quanta-eval.err" >&2; exit 1; }
quanta_time=$(echo "$(date +%s.%N) - $quanta_start" | bc)

printf '\n| candidate | llama-perplexity mean KLD | quanta eval mean KLD |\n|---|---:|---:|\n'
for ((i = 0; i < ${#candidates[@]}; i++)); do
    model="${candidates[$i]}"
    llama_kld=$(grep "Mean    KLD" "$dir/llama-$(basename "$model").kld.txt" | awk '{print $3}')
    quanta_kld=$(jq -r ".candidates[$i].kld_mean" "$dir/quanta-eval.json")
    printf '| %s | %s | %.6f |\n' "$(basename "$model")" "$llama_kld" "$quanta_kld"
done
printf '\n| tool | wall time (s) |\n|---|---:|\n| llama-perplexity (base + %d × --kl-divergence) | %.1f |\n| quanta eval | %.1f |\n' "${#candidates[@]}" "$llama_time" "$quanta_time"
printf '\nquanta eval / llama-perplexity: %.2f×\n' "$(echo "$quanta_time / $llama_time" | bc -l)"
