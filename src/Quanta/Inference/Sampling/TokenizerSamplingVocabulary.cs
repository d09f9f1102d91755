using Quanta.Inference.Tokenizers;

namespace Quanta.Inference.Sampling;

/// <summary>
/// A model's tokenizer as the samplers see it: token texts with special tokens spelled out
/// (<c>token_to_piece(special = true)</c>, the piece llama.cpp's grammar and DRY samplers use), plain
/// tokenization, and the vocabulary's end-of-generation set.
/// </summary>
public sealed class TokenizerSamplingVocabulary(Tokenizer tokenizer) : ISamplingVocabulary
{
    readonly Tokenizer tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <inheritdoc/>
    public int Count => tokenizer.Vocabulary.Count;

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TokenText(int token) => tokenizer.TokenToPiece(token, special: true);

    /// <inheritdoc/>
    public IReadOnlyList<int> Tokenize(ReadOnlySpan<byte> text) => tokenizer.Tokenize(text, addSpecial: false, parseSpecial: false);

    /// <inheritdoc/>
    public bool IsEndOfGeneration(int token) => tokenizer.Vocabulary.IsEndOfGeneration(token);
}
