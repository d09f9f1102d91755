namespace Quanta.Inference.Sampling;

/// <summary>
/// Nucleus sampling (<c>llama_sampler_init_top_p</c>): keeps the most probable candidates until their
/// probabilities, summed in float, reach <c>p</c>, and at least <c>minKeep</c>; p ≥ 1 does nothing.
/// </summary>
public sealed class TopPSampler(float p, int minKeep = 1) : ISampler
{
    /// <summary>The probability mass kept.</summary>
    public float P { get; } = p;

    /// <summary>The fewest candidates kept.</summary>
    public int MinKeep { get; } = minKeep;

    /// <inheritdoc/>
    public string Name => "top-p";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (P >= 1f)
        {
            return;
        }
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var sum = 0f;
        var last = span.Length;
        for (var i = 0; i < span.Length; i++)
        {
            sum += span[i].P;
            if (sum >= P && i + 1 >= MinKeep)
            {
                last = i + 1;
                break;
            }
        }
        candidates.Truncate(last);
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
