#!/usr/bin/env bash
# Whole-process inference benchmark: `quanta bench` against llama.cpp's `llama-bench` on the 492 M-parameter
# benchmark model (width 2048, FFN 5632, 16 heads, 4 KV heads, 8 layers, Llama 2 tokenizer), as Q4_K_M and Q8_0:
# prompt processing (pp128: one batch of 128 tokens) and generation (tg32: 32 single-token evaluations),
# 2 threads, 3 repetitions each after a warm-up run, and the peak RSS of each process.
#
#   bench/inference.sh               generates the model once into $QUANTA_BENCH_DIR (default /tmp/quanta-bench-inference)
#   bench/inference.sh --clean       also deletes the models at the end
#   LLAMA_BENCH=/path/to/llama-bench THREADS=2 ROUNDS=3 TYPES="Q4_K_M" bench/inference.sh
#
# llama.cpp is built from source beside the project and never committed; LLAMA_BENCH points at its llama-bench
# (default: ../oracle/llama.cpp/build/bin/llama-bench next to the repository's parent, or llama-bench on PATH).
# The machine these figures come from is shared, so the two tools run alternately, ROUNDS times (default 2), in
# the same run; compare the ratios, not the absolute rates. Peak RSS comes from GNU time (`/usr/bin/time -v`).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench-inference}"
checkpoint="$dir/llama-492m-bf16"
threads="${THREADS:-2}"
rounds="${ROUNDS:-2}"
types="${TYPES:-Q4_K_M Q8_0}"
prompt="${PROMPT:-128}"
gen="${GEN:-32}"
reps="${REPS:-3}"
clean=0
[[ "${1:-}" == "--clean" ]] && clean=1

llama_bench="${LLAMA_BENCH:-}"
if [[ -z "$llama_bench" ]]; then
    for candidate in "$root/../oracle/llama.cpp/build/bin/llama-bench" "$root/../../oracle/llama.cpp/build/bin/llama-bench" "$(command -v llama-bench || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then llama_bench="$candidate"; break; fi
    done
fi
if [[ -z "$llama_bench" || ! -x "$llama_bench" ]]; then
    echo "error: llama-bench not found; build llama.cpp and set LLAMA_BENCH=/path/to/llama-bench" >&2
    exit 1
fi
for tool in jq bc; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done

mkdir -p "$dir"
bench_model checkpoint "$checkpoint"
for type in $types; do
    model="$dir/llama-492m-$type.gguf"
    if [[ ! -f "$model" ]]; then
        echo "converting to $type ..."
        "${quanta[@]}" convert "$checkpoint" --type "$type" -o "$model" --threads "$threads" >/dev/null
    fi
    cat "$model" > /dev/null
done

# measure TOOL TYPE ROUND: one process of TOOL on TYPE's model; its JSON to $dir/TOOL-TYPE-ROUND.json, its peak RSS (KB) to .rss.
measure() {
    local tool=$1 type=$2 round=$3 model="$dir/llama-492m-$2.gguf" out="$dir/$1-$2-$3" log="$dir/time.txt"
    local -a command
    if [[ $tool == llama ]]; then
        command=("$llama_bench" -m "$model" -p "$prompt" -n "$gen" -t "$threads" -r "$reps" -o json)
    else
        command=("${quanta[@]}" bench -m "$model" -p "$prompt" -n "$gen" -t "$threads" -r "$reps" -o json)
    fi
    /usr/bin/time -v "${command[@]}" >"$out.json" 2>"$log" \
        || { echo "error: $tool bench on $type failed:" >&2; tail -5 "$log" >&2; exit 1; }
    grep "Maximum resident set size" "$log" | awk '{print $NF}' > "$out.rss"
    rm -f "$log"
}

for ((round = 1; round <= rounds; round++)); do
    for type in $types; do
        echo "round $round/$rounds: $type ..." >&2
        # Alternate which tool goes first, so that a burst of load on the machine falls on both alike.
        if ((round % 2)); then measure llama "$type" "$round"; measure quanta "$type" "$round"
        else measure quanta "$type" "$round"; measure llama "$type" "$round"; fi
    done
done

# rate TOOL TYPE TEST-N_PROMPT: the mean of avg_ts over the rounds.
rate() {
    cat "$dir/$1-$2-"*.json | jq -s --argjson p "$3" 'map(.[] | select(.n_prompt == $p) | .avg_ts) | add / length'
}

echo
echo "| model | test | llama.cpp t/s | quanta t/s | quanta / llama.cpp |"
echo "|---|---|---:|---:|---:|"
for type in $types; do
    for test in "pp$prompt" "tg$gen"; do
        p=$([[ $test == pp* ]] && echo "$prompt" || echo 0)
        l=$(rate llama "$type" "$p"); q=$(rate quanta "$type" "$p")
        printf '| %s | %s | %.2f | %.2f | %.2f× |\n' "$type" "$test" "$l" "$q" "$(echo "$q / $l" | bc -l)"
    done
done
echo
echo "| model | llama.cpp peak RSS | quanta peak RSS | quanta / llama.cpp |"
echo "|---|---:|---:|---:|"
for type in $types; do
    l=$(cat "$dir/llama-$type-"*.rss | sort -n | tail -1); q=$(cat "$dir/quanta-$type-"*.rss | sort -n | tail -1)
    printf '| %s | %.0f MB | %.0f MB | %.2f× |\n' "$type" "$(echo "$l / 1024" | bc -l)" "$(echo "$q / 1024" | bc -l)" "$(echo "$q / $l" | bc -l)"
done
echo
echo "(rates: mean over $rounds rounds of each tool's mean of $reps runs; $threads threads; $(nproc) processors, load average $(cut -d' ' -f1-3 /proc/loadavg))"

rm -f "$dir"/llama-*-*.json "$dir"/quanta-*-*.json "$dir"/*.rss
if ((clean)); then
    rm -rf "$dir"
fi
