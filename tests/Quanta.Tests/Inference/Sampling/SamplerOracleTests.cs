using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>Every sampler against llama.cpp (February 2025) run with libstdc++: candidates and 200 draws.</summary>
public class SamplerOracleTests
{
    public static TheoryData<string> Cases() => SamplingFixtures.SamplerCaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Candidates_and_draws_match_llama_cpp(string name)
    {
        var @case = SamplingFixtures.SamplerCase(name);
        var logits = SamplingFixtures.Logits(@case.GetProperty("logits").GetString()!);
        var samplers = @case.GetProperty("samplers").EnumerateArray().Select(SamplingFixtures.CreateSampler);
        SamplingFixtures.AssertMatchesOracle(@case, new SamplerChain(logits.Length, samplers));
    }

    [Fact]
    public void Every_sampler_is_covered()
    {
        var covered = SamplingFixtures.AllSamplerCases
            .SelectMany(c => c.GetProperty("samplers").EnumerateArray())
            .Select(s => s.GetProperty("type").GetString())
            .ToHashSet();
        string[] all = ["greedy", "dist", "top-k", "top-p", "min-p", "typical", "temp", "temp-ext", "penalties", "xtc", "mirostat", "mirostat-v2", "logit-bias", "dry"];
        Assert.Empty(all.Except(covered!));
    }

    [Fact]
    public void Dry_sequence_breakers_become_llama_cpp_token_sequences()
    {
        var breakers = DrySequenceBreakers.FromStrings(ToyVocabulary.Instance, ["\n", ":", "\"", "*", "q*x", " the cat"]);
        var actual = breakers.TailsByHead
            .SelectMany(kv => kv.Value.Select(tail => (int[])[kv.Key, .. tail]))
            .Select(row => string.Join(",", row))
            .Order(StringComparer.Ordinal);
        var expected = SamplingFixtures.LibStdCxx.GetProperty("dry_breakers").EnumerateArray()
            .Select(row => string.Join(",", SamplingFixtures.Ints(row)))
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
    }
}
