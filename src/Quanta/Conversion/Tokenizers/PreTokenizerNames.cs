using System.Text.Json;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// Chooses <c>tokenizer.ggml.pre</c> for a byte-level BPE tokenizer.
/// <para>
/// convert_hf_to_gguf identifies the pre-tokenizer by running the Hugging Face tokenizer on a fixed text and
/// hashing the token ids (<c>get_vocab_base_pre</c>). Doing that here would mean re-implementing every
/// tokenizer first, so instead the <c>pre_tokenizer</c> section of tokenizer.json is matched against the
/// configurations of the families whose llama.cpp name is known. What llama.cpp does with the name is pick
/// the splitting regex (and a few flags), so equal configurations mean equal tokenization. A configuration
/// that matches nothing is refused, as the converter refuses an unknown hash, rather than guessed.
/// </para>
/// </summary>
internal static class PreTokenizerNames
{
    // The Split regexes tokenizer.json stores for each family, verbatim.
    const string Llama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // Qwen2 differs from Llama 3 only in splitting digits one at a time.
    const string Qwen2Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static string Identify(HfTokenizerJson tokenizer)
    {
        var splits = new List<string>();
        var byteLevelWithRegex = false;
        if (tokenizer.PreTokenizer is { } pre)
        {
            Collect(pre, splits, ref byteLevelWithRegex);
        }

        if (splits.Count == 1 && !byteLevelWithRegex)
        {
            switch (splits[0])
            {
                case Llama3Regex:
                    return "llama-bpe";
                case Qwen2Regex:
                    return "qwen2";
            }
        }
        // A lone ByteLevel pre-tokenizer with its built-in regex is GPT-2's own splitting
        // ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+).
        if (splits.Count == 0 && byteLevelWithRegex)
        {
            return "gpt-2";
        }
        throw new TokenizerFormatException(
            "the BPE pre-tokenizer was not recognized (known: llama-bpe, qwen2, gpt-2); pre_tokenizer = "
            + (tokenizer.PreTokenizer is { } p ? JsonSerializer.Serialize(p) : "null"));
    }

    static void Collect(JsonElement node, List<string> splits, ref bool byteLevelWithRegex)
    {
        switch (JsonFields.OptionalString(node, "type"))
        {
            case "Sequence":
                if (node.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in items.EnumerateArray())
                    {
                        Collect(item, splits, ref byteLevelWithRegex);
                    }
                }
                break;
            case "Split":
                // A plain-string pattern is not a regex; keep it distinguishable from one.
                var regex = node.TryGetProperty("pattern", out var pattern)
                    ? JsonFields.OptionalString(pattern, "Regex") ?? "string:" + JsonFields.OptionalString(pattern, "String")
                    : "";
                splits.Add(regex);
                break;
            case "ByteLevel":
                // use_regex defaults to true in the tokenizers library.
                byteLevelWithRegex |= JsonFields.OptionalBool(node, "use_regex") ?? true;
                break;
            default:
                // Anything else (Whitespace, Digits, Metaspace ...) is a configuration we do not know.
                splits.Add("unknown:" + JsonFields.OptionalString(node, "type"));
                break;
        }
    }
}
