using System.Text;

namespace Quanta.Inference.Sampling;

/// <summary>
/// DRY's sequence breakers as token sequences: for each head token, the tails that complete a breaker
/// (empty when the token's text contains a whole breaker). Built as llama.cpp's
/// <c>get_overlapping_token_sequences</c> (ported from koboldcpp): every token containing a breaker, and every
/// token ending in a prefix of one, followed by the tokenization of the rest (at most 20 tokens); breakers
/// are cut to 40 bytes.
/// </summary>
public sealed class DrySequenceBreakers
{
    const int MaxBreakerBytes = 40;
    const int MaxTailTokens = 20;

    /// <summary>llama-cli's default breakers: newline, colon, double quote, asterisk.</summary>
    public static IReadOnlyList<string> Defaults { get; } = ["\n", ":", "\"", "*"];

    /// <summary>No breakers.</summary>
    public static DrySequenceBreakers None { get; } = new(new Dictionary<int, List<int[]>>());

    readonly Dictionary<int, List<int[]>> tailsByHead;

    DrySequenceBreakers(Dictionary<int, List<int[]>> tailsByHead) => this.tailsByHead = tailsByHead;

    /// <summary>The tails of each head token (a head may repeat a tail when two breakers give it).</summary>
    public IReadOnlyDictionary<int, List<int[]>> TailsByHead => tailsByHead;

    /// <summary>Breakers given directly as token sequences (head first), as llama.cpp's test wrapper takes them.</summary>
    public static DrySequenceBreakers FromTokens(IEnumerable<IReadOnlyList<int>> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var map = new Dictionary<int, List<int[]>>();
        foreach (var sequence in sequences.Where(s => s.Count > 0))
        {
            Add(map, sequence[0], [.. sequence.Skip(1)]);
        }
        return new DrySequenceBreakers(map);
    }

    /// <summary>Breaker strings turned into token sequences of <paramref name="vocabulary"/>.</summary>
    public static DrySequenceBreakers FromStrings(ISamplingVocabulary vocabulary, IEnumerable<string> breakers)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(breakers);
        var map = new Dictionary<int, List<int[]>>();
        foreach (var breaker in breakers)
        {
            var bytes = Encoding.UTF8.GetBytes(breaker ?? "");
            if (bytes.Length == 0)
            {
                continue;
            }
            AddOverlappingSequences(vocabulary, bytes.AsSpan(0, Math.Min(bytes.Length, MaxBreakerBytes)), map);
        }
        return new DrySequenceBreakers(map);
    }

    static void AddOverlappingSequences(ISamplingVocabulary vocabulary, ReadOnlySpan<byte> breaker, Dictionary<int, List<int[]>> map)
    {
        for (var token = 0; token < vocabulary.Count; token++)
        {
            var word = vocabulary.TokenText(token);
            if (word.IndexOf(breaker) >= 0)
            {
                Add(map, token, []);
                continue;
            }
            // Every occurrence of the breaker's first byte whose rest of the word matches the breaker's start.
            for (var position = word.IndexOf(breaker[0]); position >= 0;)
            {
                var i = 1;
                var match = true;
                for (; i < breaker.Length && i + position < word.Length; i++)
                {
                    if (word[position + i] != breaker[i])
                    {
                        match = false;
                        break;
                    }
                }
                if (match)
                {
                    var tail = vocabulary.Tokenize(breaker[i..]);
                    int[] tokens = [.. tail.Take(MaxTailTokens)];
                    if (!map.TryGetValue(token, out var tails) || !tails.Any(t => t.AsSpan().SequenceEqual(tokens)))
                    {
                        Add(map, token, tokens);
                    }
                }
                var next = word[(position + 1)..].IndexOf(breaker[0]);
                position = next < 0 ? -1 : position + 1 + next;
            }
        }
    }

    static void Add(Dictionary<int, List<int[]>> map, int head, int[] tail)
    {
        if (!map.TryGetValue(head, out var tails))
        {
            map[head] = tails = [];
        }
        tails.Add(tail);
    }
}
