#!/usr/bin/env bash
# `quanta optimize` against the presets, on the trained tiny Llama (tests/.../tiny-llama-trained, 11.3 M
# parameters; the only model here whose quality figures mean something). heldout.txt is cut in two at the first
# line break after its middle: the mixes are calibrated on the first part (CALIBRATION_CHUNKS chunks of 256
# tokens) and every file is scored on the second part (EVAL_CHUNKS chunks of 256) with `quanta eval`, against the
# f32 base. The presets are quantized from f32 with `quanta quantize` (llama-quantize's bytes); each mix is made
# at the exact file size of the preset named in SIZES. Prints a markdown table: every preset and every mix,
# size, bits per weight, mean KLD, KLD p99, same top p.
#
#   bench/optimize.sh                        SIZES="Q5_K_M Q4_K_M Q3_K_M" CALIBRATION_CHUNKS=4 EVAL_CHUNKS=16 THREADS=2
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir="${QUANTA_BENCH_DIR:-/tmp/quanta-bench-optimize}"
threads="${THREADS:-2}"
sizes="${SIZES:-Q5_K_M Q4_K_M Q3_K_M}"
presets="${PRESETS:-Q8_0 Q6_K Q5_K_M Q5_K_S Q4_K_M Q4_K_S IQ4_XS Q4_0 Q3_K_L Q3_K_M Q3_K_S Q2_K}"
calibration_chunks="${CALIBRATION_CHUNKS:-4}"
eval_chunks="${EVAL_CHUNKS:-16}"
model="$root/tests/Quanta.Tests/Fixtures/models/tiny-llama-trained"
command -v jq >/dev/null || { echo "error: jq not found" >&2; exit 1; }

mkdir -p "$dir"
[[ -f "$dir/f32.gguf" ]] || "${quanta[@]}" convert "$model" --type f32 -o "$dir/f32.gguf" --threads "$threads" >&2
python3 - "$model/heldout.txt" "$dir" <<'PY'
import sys
text = open(sys.argv[1], 'rb').read()
cut = text.index(b'\n', len(text) // 2) + 1
open(sys.argv[2] + '/calibration.txt', 'wb').write(text[:cut])
open(sys.argv[2] + '/held-out.txt', 'wb').write(text[cut:])
PY
files=()
for p in $presets; do
    [[ -f "$dir/$p.gguf" ]] || "${quanta[@]}" quantize "$dir/f32.gguf" "$dir/$p.gguf" "$p" "$threads" >/dev/null 2>&1
    files+=("$dir/$p.gguf")
done
for p in $sizes; do
    size=$(stat -c %s "$dir/$p.gguf")
    echo "optimize at $p's size ($size bytes) ..." >&2
    "${quanta[@]}" optimize "$dir/f32.gguf" -f "$dir/calibration.txt" --size "$size" -o "$dir/optimized-at-$p.gguf" \
        -c 256 --chunks "$calibration_chunks" -t "$threads" > "$dir/optimized-at-$p.txt" 2>/dev/null
    files+=("$dir/optimized-at-$p.gguf")
done
"${quanta[@]}" eval "$dir/f32.gguf" "${files[@]}" -f "$dir/held-out.txt" -c 256 --chunks "$eval_chunks" -t "$threads" \
    --pp 0 --tg 0 --json 2>/dev/null > "$dir/eval.json"
echo "| file | size (bytes) | bpw | mean KLD | KLD p99 | same top p |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
jq -r '.candidates | sort_by(-.size)[] | "| \(.file | split("/") | last | rtrimstr(".gguf")) | \(.size) | \(.bpw * 1000 | round / 1000) | \(.kld_mean * 1e6 | round / 1e6) | \(.kld_p99 * 1e6 | round / 1e6) | \(.same_top_p * 1e5 | round / 1000) % |"' "$dir/eval.json"
