namespace Quanta.Inference.Sampling;

/// <summary>
/// Keeps the candidates whose probability is at least <c>p</c> times the largest
/// (<c>llama_sampler_init_min_p</c>), compared as logits: <c>logit ≥ max + logf(p)</c>. Unsorted candidates
/// are filtered in place in token order; if that keeps fewer than <c>minKeep</c>, or the list is sorted, the
/// sorted prefix is kept instead. p ≤ 0 does nothing.
/// </summary>
public sealed class MinPSampler(float p, int minKeep = 1) : ISampler
{
    /// <summary>The fraction of the largest probability a candidate needs.</summary>
    public float P { get; } = p;

    /// <summary>The fewest candidates kept.</summary>
    public int MinKeep { get; } = minKeep;

    /// <inheritdoc/>
    public string Name => "min-p";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (P <= 0f || candidates.Count == 0)
        {
            return;
        }
        var span = candidates.Span;
        if (!candidates.Sorted)
        {
            var max = -float.MaxValue;
            foreach (ref readonly var candidate in span)
            {
                max = Math.Max(max, candidate.Logit);
            }
            var minLogit = max + MathF.Log(P);
            var kept = candidates.Scratch.Tokens;
            var count = 0;
            foreach (ref readonly var candidate in span)
            {
                if (candidate.Logit >= minLogit)
                {
                    kept[count++] = candidate;
                }
            }
            if (count >= MinKeep)
            {
                kept.AsSpan(0, count).CopyTo(span);
                candidates.Truncate(count);
                return;
            }
            LibStdCxxSort.Sort(span, default(ByLogitDescending));
            candidates.Sorted = true;
        }
        var threshold = span[0].Logit + MathF.Log(P);
        var i = 1; // the first token always stays
        for (; i < span.Length; i++)
        {
            if (span[i].Logit < threshold && i >= MinKeep)
            {
                break;
            }
        }
        candidates.Truncate(i);
    }

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }
}
