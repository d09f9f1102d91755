namespace Quanta.Inference.Sampling;

/// <summary>
/// Temperature with an entropy-dependent range (<c>llama_sampler_init_temp_ext</c>, llama-cli's
/// <c>--dynatemp-range</c> and <c>--dynatemp-exp</c>): with a positive delta the temperature is
/// <c>min + (max − min) · (H / H_max)^exponent</c> between <c>temp ± delta</c>, and the probabilities are
/// recomputed in double; otherwise it is the plain <see cref="TemperatureSampler"/>.
/// </summary>
public sealed class DynamicTemperatureSampler(float temperature, float delta, float exponent) : ISampler
{
    /// <summary>The centre temperature.</summary>
    public float Temperature { get; } = temperature;

    /// <summary>Half the temperature range; 0 or less means a fixed temperature.</summary>
    public float Delta { get; } = delta;

    /// <summary>The exponent applied to the normalised entropy.</summary>
    public float Exponent { get; } = exponent;

    /// <inheritdoc/>
    public string Name => "temp-ext";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (!(Delta > 0))
        {
            SamplerMath.ApplyTemperature(candidates.Span, Temperature);
            return;
        }
        var minTemperature = Math.Max(0f, Temperature - Delta);
        var maxTemperature = Temperature + Delta;
        if (candidates.Count <= 1)
        {
            return;
        }
        var maxEntropy = -MathF.Log(1f / candidates.Count);
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var entropy = 0f;
        foreach (ref readonly var candidate in span)
        {
            if (candidate.P > 0f)
            {
                entropy -= candidate.P * MathF.Log(candidate.P);
            }
        }
        var normalizedEntropy = entropy / maxEntropy;
        var temperature = minTemperature + ((maxTemperature - minTemperature) * MathF.Pow(normalizedEntropy, Exponent));
        SamplerMath.ApplyTemperature(span, temperature);

        double max = span[0].Logit;
        var sum = 0.0;
        for (var i = 0; i < span.Length; i++)
        {
            var p = Math.Exp(span[i].Logit - max);
            span[i].P = (float)p;
            sum += p;
        }
        for (var i = 0; i < span.Length; i++)
        {
            span[i].P = (float)(span[i].P / sum);
        }
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
