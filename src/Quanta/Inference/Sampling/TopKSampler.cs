namespace Quanta.Inference.Sampling;

/// <summary>
/// Keeps the <c>k</c> candidates with the largest logits, sorted (<c>llama_sampler_init_top_k</c>); k larger
/// than the list keeps all, and k ≤ 0 (February 2025) keeps all but still sorts them.
/// </summary>
public sealed class TopKSampler(int k) : ISampler
{
    /// <summary>The number of candidates kept.</summary>
    public int K { get; } = k;

    /// <inheritdoc/>
    public string Name => "top-k";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates) => SamplerMath.TopK(candidates, K);

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }
}
