namespace Quanta.Inference.Sampling;

/// <summary>
/// What the samplers need of a tokenizer: DRY turns its sequence-breaker strings into token sequences with
/// each token's text (llama.cpp's <c>detokenize({id}, special = true)</c>) and the tokenization of a string
/// without special tokens (<c>tokenize(text, add_special = false, parse_special = false)</c>), both as UTF-8
/// bytes, as llama.cpp compares them; the grammar sampler matches each token's text against the grammar and
/// allows the end-of-generation tokens only where the grammar can end. <see cref="TokenizerSamplingVocabulary"/>
/// adapts a <see cref="Tokenizers.Tokenizer"/>.
/// </summary>
public interface ISamplingVocabulary
{
    /// <summary>The number of tokens.</summary>
    int Count { get; }

    /// <summary>The UTF-8 text of one token, special tokens included.</summary>
    ReadOnlySpan<byte> TokenText(int token);

    /// <summary>The tokens of <paramref name="text"/>, with no BOS and special tokens not parsed.</summary>
    IReadOnlyList<int> Tokenize(ReadOnlySpan<byte> text);

    /// <summary>Whether the token ends generation (llama.cpp's <c>llama_vocab_is_eog</c>: EOS, EOT, EOM ...).</summary>
    bool IsEndOfGeneration(int token);
}
