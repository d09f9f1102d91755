using System.Text.Json;
using Quanta.Formats.Tokenizer;

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
internal static class PreTokenizerMatcher
{
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
                case PreTokenizerNames.Llama3Regex:
                    return PreTokenizerNames.Llama3;
                case PreTokenizerNames.Qwen2Regex:
                    return PreTokenizerNames.Qwen2;
            }
        }
        // A lone ByteLevel pre-tokenizer with its built-in regex is GPT-2's own splitting.
        if (splits.Count == 0 && byteLevelWithRegex)
        {
            return PreTokenizerNames.Gpt2;
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
