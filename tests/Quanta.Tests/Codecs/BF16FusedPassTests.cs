using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>
/// BF16's one-pass encode (convert and check together, the widest accelerated vectors, a scalar tail) against the
/// scalar <see cref="BFloat16.FromFloat(float)"/> that reproduces ggml's golden bytes: every length up to a few
/// vectors, rounding ties, subnormals and values that round up into the next exponent, and where a NaN or an
/// infinity stops it. The suite runs this at every SIMD width.
/// </summary>
public sealed class BF16FusedPassTests
{
    static float[] Values(int n, Random rng) =>
        Enumerable.Range(0, n).Select(_ => rng.Next(5) switch
        {
            0 => BitConverter.UInt32BitsToSingle((uint)rng.Next() & 0xBFFF0000u | 0x8000u), // a tie: to even (exponent below all ones)
            1 => BitConverter.UInt32BitsToSingle((uint)rng.Next(0, 0x00800000) | (rng.Next(2) == 0 ? 0 : 0x80000000u)), // subnormal
            2 => BitConverter.UInt32BitsToSingle(0x7F7FFFFFu - (uint)rng.Next(0, 0x10000)), // near the largest float
            _ => (float)(rng.NextDouble() - 0.5) * MathF.Pow(2, rng.Next(-30, 30)),
        }).ToArray();

    [Fact]
    public void Converts_every_length_as_the_scalar_rounding()
    {
        var rng = new Random(16);
        for (var n = 0; n <= 100; ++n)
        {
            var x = Values(n, rng);
            var actual = new ushort[n];
            Assert.Equal(-1, BF16Codec.FromFiniteFloats(x, actual));
            Assert.Equal(x.Select(BFloat16.FromFloat).ToArray(), actual);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(70)]
    public void Stops_at_the_first_non_finite_value_with_everything_before_it_written(int at)
    {
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var x = Values(80, new Random(at));
            x[at] = bad;
            x[75] = float.NaN;
            var actual = new ushort[x.Length];
            Assert.Equal(at, BF16Codec.FromFiniteFloats(x, actual));
            Assert.Equal(x[..at].Select(BFloat16.FromFloat).ToArray(), actual[..at]);
        }
    }
}
