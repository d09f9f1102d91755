#!/usr/bin/env bash
# Side-by-side single-thread codec throughput, alternating per type so that load on a shared machine falls on
# both alike: ggml's quantize_chunk/to_float through the C harness described in bench/README.md (QBENCH, pinned
# to one CPU) and Quanta's `throughput` mode (not pinned: the tiered JIT compiles on another thread).
#   QBENCH=/path/to/qbench bench/codec-vs-ggml.sh [ROWS] [COLS] [RUNS]      prints a markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-4096}; cols=${2:-256}; runs=${3:-5}; cpu=${CPU:-1}
qbench=${QBENCH:?set QBENCH to the ggml harness binary (see bench/README.md)}
dotnet build bench/Quanta.Benchmarks -c Release -v q -nologo >/dev/null
dll=bench/Quanta.Benchmarks/bin/Release/net10.0/Quanta.Benchmarks.dll
types="F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS IQ3_S IQ3_XXS TQ1_0 TQ2_0 MXFP4 NVFP4 Q1_0 Q2_0"
echo "| type | ggml enc | ggml enc im | Quanta enc | Quanta enc im | ggml dec | Quanta dec |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for t in $types; do
  g=$(OMP_NUM_THREADS=1 taskset -c $cpu "$qbench" $rows $cols --runs $runs --types $t 2>/dev/null | grep "^| $t |" | head -1)
  q=$(dotnet $dll throughput --rows $rows --cols $cols --runs $runs --types $t 2>/dev/null | grep -i "^| $t |" | head -1)
  ge=$(echo "$g" | awk -F'|' '{print $4}'); gi=$(echo "$g" | awk -F'|' '{print $5}'); gd=$(echo "$g" | awk -F'|' '{print $6}')
  qe=$(echo "$q" | awk -F'|' '{print $4}'); qi=$(echo "$q" | awk -F'|' '{print $5}'); qd=$(echo "$q" | awk -F'|' '{print $6}')
  echo "| $t |$ge|$gi|$qe|$qi|$gd|$qd|"
done
