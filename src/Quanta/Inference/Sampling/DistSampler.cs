namespace Quanta.Inference.Sampling;

/// <summary>
/// Draws a token from the softmax of the candidates with a seeded <c>std::mt19937</c>
/// (<c>llama_sampler_init_dist</c>, February 2025: sort, softmax, <c>std::discrete_distribution</c>).
/// </summary>
public sealed class DistSampler : ISampler
{
    readonly uint seed;
    readonly Mt19937 generator;

    /// <summary>A draw seeded with <paramref name="seed"/>; 0xFFFFFFFF (LLAMA_DEFAULT_SEED) draws a random seed.</summary>
    public DistSampler(uint seed)
    {
        this.seed = seed;
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator = new Mt19937(SeedUsed);
    }

    /// <summary>The seed the generator started from (llama.cpp's <c>seed_cur</c>).</summary>
    public uint SeedUsed { get; private set; }

    /// <inheritdoc/>
    public string Name => "dist";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        SamplerMath.Softmax(candidates);
        candidates.Selected = SamplerMath.SampleIndex(candidates, generator);
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
