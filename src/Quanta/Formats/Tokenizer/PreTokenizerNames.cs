namespace Quanta.Formats.Tokenizer;

/// <summary>
/// <c>tokenizer.ggml.pre</c> names (as convert_hf_to_gguf writes them and llama.cpp reads them) and the
/// splitting regexes behind them. Conversion matches a tokenizer.json against the regexes to choose a name;
/// Inference maps a name back to llama.cpp's splitting.
/// </summary>
public static class PreTokenizerNames
{
    public const string Default = "default";
    public const string Llama3 = "llama-bpe";
    public const string Qwen2 = "qwen2";
    public const string Gpt2 = "gpt-2";

    /// <summary>The Llama 3 Split regex as tokenizer.json stores it, verbatim.</summary>
    public const string Llama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's Split regex: Llama 3's, but digits split one at a time.</summary>
    public const string Qwen2Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>GPT-2's splitting, built into the ByteLevel pre-tokenizer (use_regex = true).</summary>
    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
}
