namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// A candidate token during rejection (<c>llama_grammar_candidate</c>): its index in the candidate list,
/// its code points (ending with 0) with a cursor at the next one to match, and the incomplete UTF-8 sequence
/// the token ends in.
/// </summary>
readonly struct GrammarCandidate(int index, uint[] codePoints, int offset, PartialUtf8 partial)
{
    public int Index { get; } = index;

    public uint[] CodePoints { get; } = codePoints;

    public int Offset { get; } = offset;

    public PartialUtf8 Partial { get; } = partial;

    /// <summary>The next code point to match; 0 once every whole code point has matched.</summary>
    public uint Current => CodePoints[Offset];

    public GrammarCandidate Advance(int by) => new(Index, CodePoints, Offset + by, Partial);
}
