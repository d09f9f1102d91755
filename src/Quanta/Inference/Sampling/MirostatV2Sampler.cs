namespace Quanta.Inference.Sampling;

/// <summary>
/// Mirostat 2.0 (<c>llama_sampler_init_mirostat_v2</c>): drops the candidates whose surprise
/// <c>−log₂ p</c> exceeds <c>mu</c> (keeping at least one), draws from the rest, and moves <c>mu</c> by
/// <c>eta</c> times the surprise error. It selects the token itself.
/// </summary>
public sealed class MirostatV2Sampler : ISampler
{
    readonly uint seed;
    readonly Mt19937 generator;

    /// <summary>Mirostat 2.0 with target surprise <paramref name="tau"/> and learning rate <paramref name="eta"/>.</summary>
    public MirostatV2Sampler(uint seed, float tau, float eta)
    {
        this.seed = seed;
        Tau = tau;
        Eta = eta;
        Mu = 2f * tau;
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator = new Mt19937(SeedUsed);
    }

    /// <summary>The target surprise.</summary>
    public float Tau { get; }

    /// <summary>The learning rate.</summary>
    public float Eta { get; }

    /// <summary>The current maximum surprise (starts at 2τ).</summary>
    public float Mu { get; private set; }

    /// <summary>The seed the generator started from.</summary>
    public uint SeedUsed { get; private set; }

    /// <inheritdoc/>
    public string Name => "mirostat-v2";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var kept = 0;
        while (kept < span.Length && !(-MathF.Log2(span[kept].P) > Mu))
        {
            kept++;
        }
        candidates.Truncate(Math.Max(kept, 1));
        SamplerMath.Softmax(candidates);
        var selected = SamplerMath.SampleIndex(candidates, generator);
        candidates.Selected = selected;

        var surprise = -MathF.Log2(candidates.Span[selected].P);
        Mu -= Eta * (surprise - Tau);
    }

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
        Mu = 2f * Tau;
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator.Seed(SeedUsed);
    }
}
