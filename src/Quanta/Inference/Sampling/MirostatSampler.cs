namespace Quanta.Inference.Sampling;

/// <summary>
/// Mirostat 1.0 (<c>llama_sampler_init_mirostat</c>, https://arxiv.org/abs/2007.14966): estimates the Zipf
/// exponent from the <c>m</c> most probable candidates, derives the top-k that targets surprise <c>tau</c>,
/// draws from it, and moves <c>mu</c> by <c>eta</c> times the surprise error. It selects the token itself.
/// </summary>
public sealed class MirostatSampler : ISampler
{
    readonly uint seed;
    readonly Mt19937 generator;

    /// <summary>Mirostat over a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public MirostatSampler(int vocabularySize, uint seed, float tau, float eta, int m = 100)
    {
        VocabularySize = vocabularySize;
        this.seed = seed;
        Tau = tau;
        Eta = eta;
        M = m;
        Mu = 2f * tau;
        SeedUsed = SamplerMath.ResolveSeed(seed);
        generator = new Mt19937(SeedUsed);
    }

    /// <summary>The vocabulary size in the Zipf estimate.</summary>
    public int VocabularySize { get; }

    /// <summary>The target surprise.</summary>
    public float Tau { get; }

    /// <summary>The learning rate.</summary>
    public float Eta { get; }

    /// <summary>How many candidates estimate the exponent.</summary>
    public int M { get; }

    /// <summary>The current maximum surprise (starts at 2τ).</summary>
    public float Mu { get; private set; }

    /// <summary>The seed the generator started from.</summary>
    public uint SeedUsed { get; private set; }

    /// <inheritdoc/>
    public string Name => "mirostat";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        SamplerMath.Softmax(candidates);
        var span = candidates.Span;
        var sumTiBi = 0f;
        var sumTiSquared = 0f;
        for (var i = 0; i < M - 1 && i < span.Length - 1; i++)
        {
            var ti = MathF.Log((float)(i + 2) / (i + 1));
            var bi = MathF.Log(span[i].P / span[i + 1].P);
            sumTiBi += ti * bi;
            sumTiSquared += ti * ti;
        }
        var sHat = sumTiBi / sumTiSquared;
        var epsilonHat = sHat - 1;
        var k = MathF.Pow(epsilonHat * MathF.Pow(2, Mu) / (1 - MathF.Pow(VocabularySize, -epsilonHat)), 1 / sHat);

        SamplerMath.TopK(candidates, Math.Max(SamplerMath.TruncateToInt32(k), 1));
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
