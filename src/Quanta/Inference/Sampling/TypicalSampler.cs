namespace Quanta.Inference.Sampling;

/// <summary>
/// Locally typical sampling (<c>llama_sampler_init_typical</c>): orders the candidates by how far their
/// surprise <c>−log p</c> is from the entropy and keeps them in that order until their mass exceeds
/// <c>p</c>. The result is unsorted. As in February 2025, <c>minKeep</c> 0 makes llama.cpp's
/// <c>i &gt;= min_keep - 1</c> compare against SIZE_MAX, so every candidate is kept (reordered); p ≥ 1 does
/// nothing.
/// </summary>
public sealed class TypicalSampler(float p, int minKeep = 1) : ISampler
{
    /// <summary>The probability mass kept.</summary>
    public float P { get; } = p;

    /// <summary>The fewest candidates kept.</summary>
    public int MinKeep { get; } = minKeep;

    /// <inheritdoc/>
    public string Name => "typical";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (P >= 1f)
        {
            return;
        }
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var entropy = 0f;
        foreach (ref readonly var candidate in span)
        {
            entropy += -candidate.P * MathF.Log(candidate.P);
        }
        var scratch = candidates.Scratch;
        var scores = scratch.Scores;
        var order = scratch.Indices.AsSpan(0, span.Length);
        for (var i = 0; i < span.Length; i++)
        {
            scores[i] = MathF.Abs(-MathF.Log(span[i].P) - entropy);
            order[i] = i;
        }
        LibStdCxxSort.Sort(order, new ByScoreAscending(scores));

        var sum = 0f;
        var last = order.Length;
        var minIndex = unchecked((ulong)MinKeep - 1);
        for (var i = 0; i < order.Length; i++)
        {
            sum += span[order[i]].P;
            if (sum > P && (ulong)i >= minIndex)
            {
                last = i + 1;
                break;
            }
        }
        var kept = scratch.Tokens.AsSpan(0, last);
        for (var i = 0; i < last; i++)
        {
            kept[i] = span[order[i]];
        }
        kept.CopyTo(span);
        candidates.Truncate(last);
        candidates.Sorted = false;
    }

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }

    readonly struct ByScoreAscending(float[] scores) : IStdLess<int>
    {
        public bool Less(in int a, in int b) => scores[a] < scores[b];
    }
}
