#!/usr/bin/env bash
# Quanta codec throughput, single thread, both shapes used in bench/README.md ("Codec throughput vs ggml").
#   bench/codec-throughput.sh [--types Q4_0,Q4_K] [--runs N]     extra options go to every run
# Pins to the last CPU with taskset when it is there (set CPU=n to choose another).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Quanta.Benchmarks -c Release -v q -nologo >/dev/null
cpu="${CPU:-$(( $(nproc) - 1 ))}"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi
for shape in "4096 256" "4096 4096"; do
  set -- $shape "$@"
  rows=$1 cols=$2; shift 2
  "${pin[@]}" dotnet run -c Release --no-build --project bench/Quanta.Benchmarks -- \
    throughput --rows "$rows" --cols "$cols" "$@"
  echo
done
