namespace Quanta.Inference.Sampling;

/// <summary>
/// Exclude Top Choices (<c>llama_sampler_init_xtc</c>): with chance <c>probability</c> (one
/// <c>std::uniform_real_distribution&lt;float&gt;</c> draw from its own seeded generator per token), drops every
/// candidate at or above <c>threshold</c> except the least probable of them, if at least <c>minKeep</c>
/// remain. A threshold above 0.5 or a probability ≤ 0 does nothing.
/// </summary>
public sealed class XtcSampler : ISampler
{
    readonly uint seed;
    readonly Mt19937 generator;

    /// <summary>XTC with its generator seeded by <paramref name="seed"/> (0xFFFFFFFF: random).</summary>
    public XtcSampler(float probability, float threshold, int minKeep, uint seed)
    {
        Probability = probability;
        Threshold = threshold;
        MinKeep = minKeep;
        this.seed = seed;
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator = new Mt19937(SeedUsed);
    }

    /// <summary>The chance that the top choices are excluded for a token.</summary>
    public float Probability { get; }

    /// <summary>The probability from which a candidate counts as a top choice.</summary>
    public float Threshold { get; }

    /// <summary>The fewest candidates kept.</summary>
    public int MinKeep { get; }

    /// <summary>The seed the generator started from.</summary>
    public uint SeedUsed { get; private set; }

    /// <inheritdoc/>
    public string Name => "xtc";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (Probability <= 0f || Threshold > 0.5f || candidates.Count < 2)
        {
            return;
        }
        if (LibStdCxxRandom.UniformFloat01(generator) > Probability)
        {
            return;
        }
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var lastTop = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].P >= Threshold)
            {
                lastTop = i;
            }
            else
            {
                break;
            }
        }
        if (span.Length - lastTop >= MinKeep && lastTop > 0)
        {
            candidates.DropFront(lastTop);
        }
    }

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator.Seed(SeedUsed);
    }
}
