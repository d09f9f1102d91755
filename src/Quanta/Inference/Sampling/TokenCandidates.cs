namespace Quanta.Inference.Sampling;

/// <summary>
/// The candidate list a sampler chain works on — llama.cpp's <c>llama_token_data_array</c>: a window over
/// one buffer of n_vocab entries that samplers sort, shrink and (XTC) advance, plus the index of the
/// selected candidate. Allocated once per chain; <see cref="Load"/> refills it for every token.
/// </summary>
public sealed class TokenCandidates
{
    readonly TokenData[] buffer;
    int offset;

    /// <summary>A candidate list for a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public TokenCandidates(int vocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        buffer = new TokenData[vocabularySize];
        Scratch = new SamplingScratch(vocabularySize);
    }

    /// <summary>The number of tokens of the vocabulary.</summary>
    public int VocabularySize => buffer.Length;

    /// <summary>How many candidates remain.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the candidates are in descending logit order (llama.cpp's <c>sorted</c>).</summary>
    public bool Sorted { get; set; }

    /// <summary>Index into <see cref="Span"/> of the chosen candidate, or -1 while none is chosen.</summary>
    public int Selected { get; set; } = -1;

    /// <summary>The remaining candidates.</summary>
    public Span<TokenData> Span => buffer.AsSpan(offset, Count);

    /// <summary>The selected candidate's token id.</summary>
    public int SelectedToken => Selected >= 0 && Selected < Count
        ? buffer[offset + Selected].Id
        : throw new InvalidOperationException("no candidate is selected; end the chain with dist, greedy or mirostat");

    /// <summary>Buffers the samplers reuse so that no token allocates.</summary>
    internal SamplingScratch Scratch { get; }

    /// <summary>
    /// Fills the list with every token of the vocabulary and its logit, unsorted and with nothing
    /// selected. NaN or +∞ logits, or no finite logit at all, are refused: llama.cpp would compute NaN
    /// probabilities from them and sample garbage.
    /// </summary>
    public void Load(ReadOnlySpan<float> logits)
    {
        if (logits.Length != buffer.Length)
        {
            throw new ArgumentException($"expected {buffer.Length} logits (the vocabulary size), got {logits.Length}", nameof(logits));
        }
        var anyFinite = false;
        for (var i = 0; i < logits.Length; i++)
        {
            var logit = logits[i];
            if (float.IsNaN(logit) || float.IsPositiveInfinity(logit))
            {
                throw new ArgumentException($"logit of token {i} is {logit}; the logits cannot be sampled", nameof(logits));
            }
            anyFinite |= logit > float.NegativeInfinity;
            buffer[i] = new TokenData(i, logit, 0f);
        }
        if (!anyFinite)
        {
            throw new ArgumentException("every logit is -infinity; no token can be sampled", nameof(logits));
        }
        offset = 0;
        Count = logits.Length;
        Sorted = false;
        Selected = -1;
    }

    /// <summary>Keeps the first <paramref name="count"/> candidates (llama.cpp's <c>cur_p->size = count</c>).</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        Count = count;
    }

    /// <summary>Drops the first <paramref name="count"/> candidates (XTC's <c>cur_p->data += count</c>).</summary>
    internal void DropFront(int count)
    {
        offset += count;
        Count -= count;
    }
}
