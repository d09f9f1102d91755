#!/usr/bin/env bash
# Sharded quantization at scale: the 492 M-parameter benchmark model (F16 GGUF, see common.sh) quantized by N
# tasks (`quanta quantize --shard I/N`) run as N processes at once, as a Kubernetes Indexed Job or a Slurm array
# would run them on N machines, here all on this one. For each N it reports the batch's wall time, checks that
# the N files equal, byte for byte, the set one process writes with `--shards N`, and that `quanta shard-status`
# finds them all ok.
#
#   bench/shard.sh                          Q4_K_M, N = 1 2 3 7, THREADS=2 shared by the N tasks
#   TYPE=Q8_0 COUNTS="1 2" bench/shard.sh
#   CHECK=0 bench/shard.sh                  wall times only (skips the single-process reference sets)
#
# Each task gets max(1, THREADS / N) threads, so N = 1 and N = 2 use the same cores: on one machine the batch is
# no faster, the point is that it is not slower (no task reads or writes more than its share) and that the
# output is the same. The per-tensor throughput of the N = 1 run is what the estimate for a large model uses
# (bench/README.md). The model is generated once into $QUANTA_BENCH_DIR (default /tmp/quanta-bench); outputs go
# to $QUANTA_SHARD_DIR (default /tmp/quanta-bench-shard) and are deleted after each N.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench}"
out="${QUANTA_SHARD_DIR:-/tmp/quanta-bench-shard}"
input="$dir/llama-492m-f16.gguf"
type="${TYPE:-Q4_K_M}"
threads="${THREADS:-2}"
counts="${COUNTS:-1 2 3 7}"
check="${CHECK:-1}"

mkdir -p "$dir" "$out"
bench_model gguf "$input"

seconds() { date +%s.%N; }

printf '%3s %8s %12s %12s %10s %s\n' N threads "tasks (s)" "--shards (s)" identical shard-status
for n in $counts; do
    per_task=$((threads / n))
    ((per_task < 1)) && per_task=1
    rm -f "$out"/tasks-*.gguf "$out"/one-*.gguf
    start=$(seconds)
    pids=()
    for ((i = 1; i <= n; i++)); do
        "${quanta[@]}" quantize "$input" "$out/tasks.gguf" "$type" --shard "$i/$n" --threads "$per_task" \
            >"$out/task-$i.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { echo "error: a task of N = $n failed:" >&2; tail -3 "$out"/task-*.log >&2; exit 1; }
    done
    tasks_wall=$(echo "$(seconds) - $start" | bc -l)

    one_wall="-"
    identical="-"
    if ((check)); then
        start=$(seconds)
        "${quanta[@]}" quantize "$input" "$out/one.gguf" "$type" --shards "$n" --threads "$threads" >/dev/null 2>&1
        one_wall=$(printf '%.2f' "$(echo "$(seconds) - $start" | bc -l)")
        identical=yes
        for ((i = 1; i <= n; i++)); do
            name=$(printf -- '-%05d-of-%05d.gguf' "$i" "$n")
            cmp -s "$out/tasks$name" "$out/one$name" || identical=NO
        done
    fi
    status=$("${quanta[@]}" shard-status "$out/tasks" >/dev/null 2>&1 && echo ok || echo FAILED)
    printf '%3d %8d %12.2f %12s %10s %s\n' "$n" "$per_task" "$tasks_wall" "$one_wall" "$identical" "$status"
    rm -f "$out"/tasks-*.gguf "$out"/one-*.gguf "$out"/task-*.log
    [[ $identical == NO || $status == FAILED ]] && exit 1
done
exit 0
