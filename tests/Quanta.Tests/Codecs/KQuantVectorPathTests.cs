using Quanta.Codecs;
using Xunit;

namespace Quanta.Tests.Codecs;

/// <summary>
/// The scalar K-quant, IQ3 and IQ2 code is the specification (it reproduces ggml's golden bytes); the lane-parallel path must
/// give the same bytes on any input. Runs on every machine: where 256-bit vectors are not hardware-accelerated,
/// .NET emulates them with the same IEEE operations, so the comparison still checks the lane logic.
/// </summary>
public sealed class KQuantVectorPathTests
{
    private const int Cols = 1024;

    public static TheoryData<string, bool> TypesAndImportance()
    {
        var data = new TheoryData<string, bool>();
        foreach (var type in new[] { "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ3_XXS", "IQ3_S", "IQ2_S" })
        {
            data.Add(type, false);
            data.Add(type, true);
        }
        // ggml quantizes these two only with importance weights.
        data.Add("IQ2_XXS", true);
        data.Add("IQ2_XS", true);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndImportance))]
    public void VectorPathMatchesScalarPathByteForByte(string type, bool withImportance)
    {
        var scalar = CreateCodec(type, vectorized: false);
        var vector = CreateCodec(type, vectorized: true);
        var blockBytes = Quanta.Formats.GgmlTypeInfo.Of(scalar.Type).BlockBytes;

        for (var family = 0; family < Families; ++family)
        {
            var rng = new Random(1000 * family + (withImportance ? 1 : 0));
            var rows = 4;
            var x = new float[rows * Cols];
            Fill(x, family, rng);
            var importance = withImportance ? MakeImportance(rng, family) : [];

            var expected = new byte[x.Length / 256 * blockBytes];
            var actual = new byte[expected.Length];
            scalar.Encode(x, Cols, importance, expected);
            vector.Encode(x, Cols, importance, actual);

            for (var i = 0; i < expected.Length; ++i)
            {
                if (expected[i] != actual[i])
                {
                    Assert.Fail($"{type} family {family}: byte {i} (block {i / blockBytes}) differs: scalar 0x{expected[i]:X2}, vector 0x{actual[i]:X2}");
                }
            }
        }
    }

    /// <summary>
    /// Q3_K without importance runs all sixteen sub-block searches in one 512-bit vector where that is accelerated
    /// (the 256-bit path otherwise), and the IQ3 neighbour searches keep a per-lane best and reduce once: many more
    /// super-blocks per family, so lanes that converge in different passes, the zero-scale requantization fallback
    /// and ties between neighbours in different lanes all occur.
    /// </summary>
    [Theory]
    [InlineData("Q3_K", false)]
    [InlineData("Q3_K", true)]
    [InlineData("IQ3_S", false)]
    [InlineData("IQ3_S", true)]
    [InlineData("IQ3_XXS", false)]
    [InlineData("IQ3_XXS", true)]
    [InlineData("IQ2_S", false)]
    [InlineData("IQ2_S", true)]
    [InlineData("IQ2_XS", true)]
    [InlineData("IQ2_XXS", true)]
    public void WidePathMatchesScalarPathOnManyBlocks(string type, bool withImportance)
    {
        var scalar = CreateCodec(type, vectorized: false);
        var vector = CreateCodec(type, vectorized: true);
        var blockBytes = Quanta.Formats.GgmlTypeInfo.Of(scalar.Type).BlockBytes;
        for (var family = 0; family < Families; ++family)
        {
            var rng = new Random(77 + family);
            var x = new float[64 * Cols];
            Fill(x, family, rng);
            // Mix scales across super-blocks so that sub-blocks of one vector differ by orders of magnitude.
            for (var i = 0; i < x.Length; ++i)
            {
                x[i] *= (i / 16 % 7) switch { 0 => 1e-3f, 1 => 10f, 2 => 0f, _ => 1f };
            }
            var importance = withImportance ? MakeImportance(rng, family) : [];
            var expected = new byte[x.Length / 256 * blockBytes];
            var actual = new byte[expected.Length];
            scalar.Encode(x, Cols, importance, expected);
            vector.Encode(x, Cols, importance, actual);
            var at = expected.AsSpan().CommonPrefixLength(actual);
            Assert.True(at == expected.Length, $"{type} family {family}: byte {at} (block {at / blockBytes}) differs");
        }
    }

    /// <summary>The vector decode gives the scalar decode's floats, bit for bit, on blocks from every input family.</summary>
    [Theory]
    [InlineData("Q3_K")]
    public void VectorDecodeMatchesScalarDecodeBitForBit(string type)
    {
        var scalar = CreateCodec(type, vectorized: false);
        var vector = CreateCodec(type, vectorized: true);
        var blockBytes = Quanta.Formats.GgmlTypeInfo.Of(scalar.Type).BlockBytes;
        for (var family = 0; family < Families; ++family)
        {
            var rng = new Random(500 + family);
            var x = new float[16 * Cols];
            Fill(x, family, rng);
            var encoded = new byte[x.Length / 256 * blockBytes];
            scalar.Encode(x, Cols, [], encoded);
            // Random bytes too: every bit pattern of levels, masks and scales decodes the same way.
            var noise = new byte[encoded.Length];
            rng.NextBytes(noise);
            for (var i = 0; i < noise.Length; i += blockBytes)
            {
                noise[i + blockBytes - 1] &= 0x3B; // keep the fp16 scale finite
            }
            foreach (var blocks in new[] { encoded, noise })
            {
                var expected = new float[x.Length];
                var actual = new float[x.Length];
                scalar.Decode(blocks, expected);
                vector.Decode(blocks, actual);
                for (var i = 0; i < expected.Length; ++i)
                {
                    if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                    {
                        Assert.Fail($"{type} family {family}: value {i} differs: scalar {expected[i]}, vector {actual[i]}");
                    }
                }
            }
        }
    }

    private static IBlockCodec CreateCodec(string type, bool vectorized) => type switch
    {
        "Q2_K" => new Q2_KCodec(vectorized),
        "Q3_K" => new Q3_KCodec(vectorized),
        "Q4_K" => new Q4_KCodec(vectorized),
        "Q5_K" => new Q5_KCodec(vectorized),
        "Q6_K" => new Q6_KCodec(vectorized),
        "IQ3_XXS" => new IQ3_XXSCodec(vectorized),
        "IQ3_S" => new IQ3_SCodec(vectorized),
        "IQ2_XXS" => new IQ2_XXSCodec(vectorized),
        "IQ2_XS" => new IQ2_XSCodec(vectorized),
        "IQ2_S" => new IQ2_SCodec(vectorized),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    internal const int Families = 13;

    private static float Gauss(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>Input families chosen to hit every branch: flat and all-zero groups, one-sided groups, ties, extremes.</summary>
    internal static void Fill(float[] x, int family, Random rng)
    {
        for (var i = 0; i < x.Length; ++i)
        {
            x[i] = family switch
            {
                0 => 0.02f * Gauss(rng),
                1 => (float)(rng.NextDouble() * 2 - 1),
                2 => rng.Next(500) == 0 ? 200 * 0.02f * Gauss(rng) : 0.02f * Gauss(rng),
                3 => MathF.Abs(Gauss(rng)) + 0.5f,                         // positive only: min clamps to 0
                4 => -MathF.Abs(Gauss(rng)),                               // negative only
                5 => 1e-7f * Gauss(rng),                                   // tiny
                6 => 3000f * Gauss(rng),                                   // big
                7 => rng.Next(4) - 1.5f,                                   // few distinct values, ties
                8 => (i / 16 % 3) switch { 0 => 0f, 1 => 0.25f, _ => Gauss(rng) }, // zero and constant groups
                9 => (float)Math.ScaleB(Gauss(rng), rng.Next(-20, 20)),  // wildly varying magnitudes
                10 => rng.Next(3) == 0 ? 0f : Gauss(rng) * 1e-3f,          // sparse
                11 => (i / 32 % 2 == 0) ? 1e-20f * Gauss(rng) : Gauss(rng), // near-eps groups next to normal ones
                _ => (float)Math.ScaleB(Gauss(rng), -140),                 // subnormal (NaN and infinity are refused before encoding)
            };
        }
    }

    private static float[] MakeImportance(Random rng, int family)
    {
        var w = new float[Cols];
        for (var i = 0; i < w.Length; ++i)
        {
            w[i] = family % 3 == 0 && rng.Next(8) == 0 ? 0f : (float)rng.NextDouble() * 10;
        }
        return w;
    }
}
