# Shared by the whole-process benchmark scripts (quantize.sh, convert.sh, create.sh); source it, do not run it.
# Sets $root and $quanta (the freshly built CLI), checks for GNU time, and makes the benchmark model.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time not found; install GNU time (apt-get install time)" >&2
    exit 1
fi

dotnet build "$root/src/Quanta.Cli" -c Release -v quiet -nologo >/dev/null
quanta=(dotnet "$root/src/Quanta.Cli/bin/Release/net10.0/quanta.dll")

# The benchmark shape of the issues: width 2048, FFN 5632, 16 heads, 4 KV heads, 8 layers, 32,000-token
# vocabulary (492 M parameters). `bench_model gguf PATH` writes it as an F16 GGUF, `bench_model checkpoint DIR`
# as a BF16 safetensors checkpoint, once; then the file is read into the page cache after a sync, so that
# the kernel's writeback of a freshly generated model is not charged to whichever run comes first.
bench_model() {
    local kind=$1 path=$2 file
    if [[ $kind == checkpoint ]]; then file="$path/model.safetensors"; else file="$path"; fi
    if [[ ! -f "$file" ]]; then
        echo "generating $path ..."
        "${quanta[@]}" demo "--write-$([[ $kind == checkpoint ]] && echo checkpoint || echo model)" "$path" \
            --layers 8 --width 2048 --ffn 5632 --heads 16 --kv-heads 4 --vocab 32000 >/dev/null
    fi
    sync
    cat "$file" > /dev/null
}
