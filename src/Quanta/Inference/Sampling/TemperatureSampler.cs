namespace Quanta.Inference.Sampling;

/// <summary>
/// Divides the logits by the temperature (<c>llama_sampler_init_temp</c>); at 0 or below only the first
/// largest logit stays finite, so the draw that follows is greedy.
/// </summary>
public sealed class TemperatureSampler(float temperature) : ISampler
{
    /// <summary>The temperature.</summary>
    public float Temperature { get; } = temperature;

    /// <inheritdoc/>
    public string Name => "temp";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates) => SamplerMath.ApplyTemperature(candidates.Span, Temperature);

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }
}
