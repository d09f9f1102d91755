namespace Quanta.Inference.Sampling;

/// <summary>Selects the first candidate with the largest logit (<c>llama_sampler_init_greedy</c>).</summary>
public sealed class GreedySampler : ISampler
{
    /// <inheritdoc/>
    public string Name => "greedy";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        var span = candidates.Span;
        var selected = 0;
        for (var i = 1; i < span.Length; i++)
        {
            if (span[i].Logit > span[selected].Logit)
            {
                selected = i;
            }
        }
        candidates.Selected = selected;
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
