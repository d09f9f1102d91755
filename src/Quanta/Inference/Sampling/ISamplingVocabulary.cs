namespace Quanta.Inference.Sampling;

/// <summary>
/// What DRY needs of a tokenizer to turn its sequence-breaker strings into token sequences: each token's
/// text (llama.cpp's <c>detokenize({id}, special = true)</c>) and the tokenization of a string without
/// special tokens (<c>tokenize(text, add_special = false, parse_special = false)</c>), both as UTF-8 bytes,
/// as llama.cpp compares them.
/// </summary>
public interface ISamplingVocabulary
{
    /// <summary>The number of tokens.</summary>
    int Count { get; }

    /// <summary>The UTF-8 text of one token, special tokens included.</summary>
    ReadOnlySpan<byte> TokenText(int token);

    /// <summary>The tokens of <paramref name="text"/>, with no BOS and special tokens not parsed.</summary>
    IReadOnlyList<int> Tokenize(ReadOnlySpan<byte> text);
}
