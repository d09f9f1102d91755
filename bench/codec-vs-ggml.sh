#!/usr/bin/env bash
# Side-by-side single-thread codec encode throughput, one type at a time so that load on a shared machine falls on
# every column alike: ggml's quantize_chunk through the C harness described in bench/README.md (QBENCH, pinned to
# one CPU), then Quanta's `throughput` mode at the default vector width and again with
# DOTNET_PreferredVectorBitWidth=256 (the vector paths an AVX2-only CPU runs; not pinned: the tiered JIT compiles
# on another thread). ggml-base's quantizers are built for baseline x86-64 in every llama.cpp build, so the same
# harness is the reference for both widths.
#   QBENCH=/path/to/qbench bench/codec-vs-ggml.sh [ROWS] [COLS] [RUNS]      prints a markdown table
#   TYPES="Q3_K IQ2_XXS" to measure only some types; ROUNDS=N for N rows per type (each ggml, Quanta, Quanta
#   256-bit in turn: on a loaded machine compare rows, not single figures); QUANTA_DLL=… to measure another build;
#   CPU_TIME=1 times each run by the thread's CPU time on both sides (Quanta's --cpu-time, QBENCH_CPU_TIME=1 for a
#   harness that reads it, see bench/README.md), so that preemption on a loaded machine is not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-4096}; cols=${2:-256}; runs=${3:-5}; cpu=${CPU:-1}
cputime=(); if [[ -n ${CPU_TIME:-} ]]; then cputime=(--cpu-time); export QBENCH_CPU_TIME=1; fi
qbench=${QBENCH:?set QBENCH to the ggml harness binary (see bench/README.md)}
dll=${QUANTA_DLL:-bench/Quanta.Benchmarks/bin/Release/net10.0/Quanta.Benchmarks.dll}
if [[ -z ${QUANTA_DLL:-} ]]; then dotnet build bench/Quanta.Benchmarks -c Release -v q -nologo >/dev/null; fi
types=${TYPES:-"F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS IQ3_S IQ3_XXS IQ2_S IQ2_XS IQ2_XXS IQ1_S IQ1_M TQ1_0 TQ2_0 MXFP4 NVFP4 Q1_0 Q2_0"}
# Column N (1-based, after the leading '|') of the table row for type $2 in text $1, spaces trimmed.
col() { echo "$1" | { grep -i "^| $2 |" || true; } | head -1 | awk -F'|' -v c="$3" '{gsub(/ /, "", $c); sub(/\(.*/, "", $c); print $c}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.1f×", a / b; else printf "–" }'; }
echo "| type | ggml enc | Quanta enc | ratio | Quanta 256-bit | ratio 256 | ggml enc (im) | Quanta enc (im) | ratio (im) | Quanta 256-bit (im) | ratio 256 (im) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in $types; do for round in $(seq "${ROUNDS:-1}"); do
  g=$(OMP_NUM_THREADS=1 taskset -c "$cpu" "$qbench" "$rows" "$cols" --runs "$runs" --types "$t" 2>/dev/null || true)
  q=$(dotnet "$dll" throughput --rows "$rows" --cols "$cols" --runs "$runs" --types "$t" "${cputime[@]}" 2>/dev/null || true)
  n=$(DOTNET_PreferredVectorBitWidth=256 dotnet "$dll" throughput --rows "$rows" --cols "$cols" --runs "$runs" --types "$t" "${cputime[@]}" 2>/dev/null || true)
  ge=$(col "$g" "$t" 4); gi=$(col "$g" "$t" 5)
  qe=$(col "$q" "$t" 4); qi=$(col "$q" "$t" 5)
  ne=$(col "$n" "$t" 4); ni=$(col "$n" "$t" 5)
  echo "| $t | $ge | $qe | $(ratio "$qe" "$ge") | $ne | $(ratio "$ne" "$ge") | $gi | $qi | $(ratio "$qi" "$gi") | $ni | $(ratio "$ni" "$gi") |"
done; done
