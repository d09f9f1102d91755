using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>Inputs llama.cpp's samplers meet at the edges, and the chain's promises (no allocation, seeds).</summary>
public class SamplerEdgeCaseTests
{
    static readonly float[] Smooth = SamplingFixtures.Logits("smooth50");

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Nan_and_positive_infinity_logits_are_refused(float bad)
    {
        var logits = Smooth.ToArray();
        logits[17] = bad;
        var chain = SamplerChainBuilder.Build(new SamplingParameters { Seed = 1 }, logits.Length);
        var error = Assert.Throws<ArgumentException>(() => chain.Sample(logits));
        Assert.Contains("token 17", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_negative_infinity_is_refused_and_all_but_one_picks_that_one()
    {
        var logits = Enumerable.Repeat(float.NegativeInfinity, 20).ToArray();
        var chain = SamplerChainBuilder.Build(new SamplingParameters { Seed = 1 }, logits.Length);
        Assert.Throws<ArgumentException>(() => chain.Sample(logits));
        logits[11] = -3f;
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(11, chain.Sample(logits)));
    }

    [Fact]
    public void Logit_count_must_be_the_vocabulary_size()
    {
        var chain = new SamplerChain(10, [new GreedySampler()]);
        Assert.Throws<ArgumentException>(() => chain.Sample(new float[11]));
    }

    [Fact]
    public void A_chain_without_a_selecting_sampler_says_so()
    {
        var chain = new SamplerChain(Smooth.Length, [new TopKSampler(5)]);
        var error = Assert.Throws<InvalidOperationException>(() => chain.Sample(Smooth));
        Assert.Contains("dist, greedy or mirostat", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        var greedy = new SamplerChain(Smooth.Length, [new GreedySampler()]).Sample(Smooth);
        Assert.Equal(Array.IndexOf(Smooth, Smooth.Max()), greedy);
        foreach (var seed in new uint[] { 1, 2, 3, 4 })
        {
            var chain = SamplerChainBuilder.Build(new SamplingParameters { Temperature = 0f, Seed = seed }, Smooth.Length);
            Assert.Equal(greedy, chain.Sample(Smooth));
        }
    }

    [Fact]
    public void Top_k_one_is_greedy_and_top_k_beyond_the_vocabulary_keeps_all()
    {
        var greedy = Array.IndexOf(Smooth, Smooth.Max());
        var chain = SamplerChainBuilder.Build(new SamplingParameters { TopK = 1, Seed = 5 }, Smooth.Length);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(greedy, chain.Sample(Smooth)));

        var candidates = new TokenCandidates(Smooth.Length);
        candidates.Load(Smooth);
        new TopKSampler(1000).Apply(candidates);
        Assert.Equal(Smooth.Length, candidates.Count);
        Assert.True(candidates.Sorted);
    }

    [Fact]
    public void Top_p_one_and_min_p_zero_change_nothing()
    {
        var candidates = new TokenCandidates(Smooth.Length);
        candidates.Load(Smooth);
        new TopPSampler(1f, 0).Apply(candidates);
        new MinPSampler(0f, 0).Apply(candidates);
        Assert.Equal(Smooth.Length, candidates.Count);
        Assert.False(candidates.Sorted);
        Assert.Equal(Smooth, candidates.Span.ToArray().Select(t => t.Logit));
    }

    [Fact]
    public void A_fixed_seed_repeats_and_reset_starts_over()
    {
        var parameters = new SamplingParameters { Seed = 1234, RepeatPenalty = 1.2f };
        var first = SamplerChainBuilder.Build(parameters, Smooth.Length);
        var a = Enumerable.Range(0, 100).Select(_ => first.Sample(Smooth)).ToArray();
        var b = SamplerChainBuilder.Build(parameters, Smooth.Length);
        Assert.Equal(a, Enumerable.Range(0, 100).Select(_ => b.Sample(Smooth)));
        first.Reset();
        Assert.Equal(a, Enumerable.Range(0, 100).Select(_ => first.Sample(Smooth)));
    }

    [Fact]
    public void The_default_seed_draws_a_random_seed_per_chain()
    {
        var seeds = Enumerable.Range(0, 4)
            .Select(_ => new DistSampler(SamplingParameters.RandomSeed).SeedUsed)
            .ToHashSet();
        Assert.True(seeds.Count > 1);
        Assert.Equal(77u, new DistSampler(77).SeedUsed);
    }

    [Fact]
    public void Sampling_a_token_allocates_nothing()
    {
        var logits = SamplingFixtures.Logits("wide1000");
        var parameters = new SamplingParameters
        {
            Seed = 3, TopK = 200, TypicalP = 0.9f, MinKeep = 1, RepeatPenalty = 1.1f, XtcProbability = 0.5f,
            DynamicTemperatureRange = 0.3f, LogitBias = [new(5, 1f)],
        };
        foreach (var chain in new[]
        {
            SamplerChainBuilder.Build(parameters, logits.Length),
            SamplerChainBuilder.Build(parameters with { Mirostat = 1 }, logits.Length),
            SamplerChainBuilder.Build(parameters with { Mirostat = 2 }, logits.Length),
        })
        {
            for (var i = 0; i < 100; i++)
            {
                chain.Sample(logits); // warm up: the penalties' dictionary reaches its size
            }
            // Steady state allocates nothing; a window may still see the runtime's own one-off work on this thread
            // (a method tiering up mid-loop), so one of three windows must be clean.
            var allocated = new List<long>();
            for (var window = 0; window < 3 && (allocated.Count == 0 || allocated[^1] != 0); window++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 100; i++)
                {
                    chain.Sample(logits);
                }
                allocated.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.True(allocated[^1] == 0, $"bytes allocated per 100 tokens: {string.Join(", ", allocated)}");
        }

        var toy = SamplingFixtures.Logits("toy46");
        var dry = SamplerChainBuilder.Build(new SamplingParameters { Seed = 4, DryMultiplier = 0.8f, TopK = 0 }, toy.Length,
            vocabulary: ToyVocabulary.Instance, trainingContextLength: 4096);
        for (var i = 0; i < 300; i++)
        {
            dry.Sample(toy);
        }
        var beforeDry = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            dry.Sample(toy);
        }
        Assert.Equal(beforeDry, GC.GetAllocatedBytesForCurrentThread());
    }
}
