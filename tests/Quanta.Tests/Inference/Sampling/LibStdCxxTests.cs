using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>The libstdc++ pieces llama.cpp's samplers rest on, against GCC 12's own output.</summary>
public class LibStdCxxTests
{
    static readonly System.Text.Json.JsonElement Oracle = SamplingFixtures.LibStdCxx;

    [Fact]
    public void Mt19937_matches_std_mt19937()
    {
        foreach (var c in Oracle.GetProperty("mt19937").EnumerateArray())
        {
            var generator = new Mt19937(c.GetProperty("seed").GetUInt32());
            var first = c.GetProperty("first").EnumerateArray().Select(x => x.GetUInt32()).ToArray();
            Assert.Equal(first, Enumerable.Range(0, first.Length).Select(_ => generator.Next()));
            for (var i = first.Length; i < 9999; i++)
            {
                generator.Next();
            }
            Assert.Equal(c.GetProperty("ten_thousandth").GetUInt32(), generator.Next());
        }
    }

    [Fact]
    public void Generate_canonical_double_matches_libstdcxx()
    {
        var generator = new Mt19937(42);
        var expected = Oracle.GetProperty("canonical_double_seed42").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(expected, expected.Select(_ => LibStdCxxRandom.CanonicalDouble(generator)));
    }

    [Fact]
    public void Uniform_real_float_matches_libstdcxx()
    {
        var generator = new Mt19937(42);
        var expected = SamplingFixtures.Floats(Oracle.GetProperty("uniform_float_seed42"));
        Assert.Equal(expected, expected.Select(_ => LibStdCxxRandom.UniformFloat01(generator)));
    }

    [Fact]
    public void Discrete_distribution_matches_libstdcxx_and_draws_nothing_for_one_weight()
    {
        foreach (var c in Oracle.GetProperty("discrete").EnumerateArray())
        {
            var weights = SamplingFixtures.Floats(c.GetProperty("weights"));
            var candidates = weights.Select((w, i) => new TokenData(i, 0f, w)).ToArray();
            var generator = new Mt19937(c.GetProperty("seed").GetUInt32());
            var cumulative = new double[weights.Length];
            var expected = SamplingFixtures.Ints(c.GetProperty("draws"));
            Assert.Equal(expected, expected.Select(_ => LibStdCxxRandom.Discrete(candidates, generator, cumulative)));
            // The generator advanced exactly as libstdc++'s: for one weight, not at all.
            Assert.Equal(c.GetProperty("next_raw").GetUInt32(), generator.Next());
        }
    }

    [Fact]
    public void Sort_and_partial_sort_order_ties_as_libstdcxx()
    {
        foreach (var c in Oracle.GetProperty("sort").EnumerateArray())
        {
            var logits = SamplingFixtures.Floats(c.GetProperty("logits"));
            var items = logits.Select((l, i) => new TokenData(i, l, 0f)).ToArray();
            var sorted = items.ToArray();
            LibStdCxxSort.Sort(sorted.AsSpan(), default(ByLogitDescending));
            Assert.Equal(SamplingFixtures.Ints(c.GetProperty("sorted_ids")), sorted.Select(t => t.Id));

            var partial = items.ToArray();
            LibStdCxxSort.PartialSort(partial.AsSpan(), c.GetProperty("partial_k").GetInt32(), default(ByLogitDescending));
            Assert.Equal(SamplingFixtures.Ints(c.GetProperty("partial_ids")), partial.Select(t => t.Id));
        }
    }

    [Fact]
    public void Truncation_is_x86_cvttss2si()
    {
        Assert.Equal(int.MinValue, SamplerMath.TruncateToInt32(float.NaN));
        Assert.Equal(int.MinValue, SamplerMath.TruncateToInt32(float.PositiveInfinity));
        Assert.Equal(int.MinValue, SamplerMath.TruncateToInt32(3e9f));
        Assert.Equal(-2, SamplerMath.TruncateToInt32(-2.9f));
        Assert.Equal(7, SamplerMath.TruncateToInt32(7.99f));
    }
}
