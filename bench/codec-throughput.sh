#!/usr/bin/env bash
# Quanta codec throughput, single thread, both shapes used in bench/README.md ("Codec throughput vs ggml").
#   bench/codec-throughput.sh [--types Q4_0,Q4_K] [--runs N]     extra options go to every run
# Not pinned to one CPU: the measuring loop is single-threaded, but .NET's tiered JIT compiles the optimised
# code on a background thread; pinned to one core, that thread starves and the hot loops are measured at
# tier 0 (5-20x slower). Pin ggml's harness, which has no JIT, to one core instead.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Quanta.Benchmarks -c Release -v q -nologo >/dev/null
for shape in "4096 256" "4096 4096"; do
  set -- $shape "$@"
  rows=$1 cols=$2; shift 2
  dotnet run -c Release --no-build --project bench/Quanta.Benchmarks -- \
    throughput --rows "$rows" --cols "$cols" "$@"
  echo
done
