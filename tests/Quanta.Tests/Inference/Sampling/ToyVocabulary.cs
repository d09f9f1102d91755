using System.Text;
using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>
/// The oracle's toy vocabulary for DRY (Fixtures/sampling/libstdcxx.json "toy_vocab"): each token's text,
/// and tokenization by greedy longest match from the left (lowest id on ties, unknown bytes skipped) —
/// the same rule the oracle's C++ uses, so both sides tokenize breakers alike.
/// </summary>
sealed class ToyVocabulary : ISamplingVocabulary
{
    public static ToyVocabulary Instance { get; } = new();

    readonly byte[][] texts = [.. SamplingFixtures.LibStdCxx.GetProperty("toy_vocab").EnumerateArray()
        .Select(e => Encoding.UTF8.GetBytes(e.GetString()!))];

    public int Count => texts.Length;

    public ReadOnlySpan<byte> TokenText(int token) => texts[token];

    // the oracle's toy vocabulary has no end-of-generation token
    public bool IsEndOfGeneration(int token) => false;

    public IReadOnlyList<int> Tokenize(ReadOnlySpan<byte> text)
    {
        var tokens = new List<int>();
        var position = 0;
        while (position < text.Length)
        {
            var best = -1;
            var bestLength = 0;
            for (var t = 0; t < texts.Length; t++)
            {
                if (texts[t].Length > bestLength && text[position..].StartsWith(texts[t]))
                {
                    best = t;
                    bestLength = texts[t].Length;
                }
            }
            if (best < 0)
            {
                position++;
                continue;
            }
            tokens.Add(best);
            position += bestLength;
        }
        return tokens;
    }

    public int[] Tokenize(string text) => [.. Tokenize(Encoding.UTF8.GetBytes(text))];
}
