using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>
/// The vector paths of IQ4_NL, IQ4_XS, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0 and Q2_0 against their scalar
/// specification (which reproduces ggml's golden bytes), byte for byte on encode and bit for bit on decode.
/// Where 256-bit vectors are not hardware-accelerated .NET emulates them with the same IEEE operations, so the
/// lane logic is still checked.
/// </summary>
public sealed class SmallFormatVectorPathTests
{
    delegate void EncodePath(ReadOnlySpan<float> x, Span<byte> destination);

    delegate void DecodePath(ReadOnlySpan<byte> source, Span<float> destination);

    const int Cols = 1024;

    /// <summary>Families beyond the K-quant ones: exact code-book points and midpoints, values just below powers of two.</summary>
    const int ExtraFamilies = 3;

    static void Fill(float[] x, int family, Random rng)
    {
        if (family < KQuantVectorPathTests.Families)
        {
            KQuantVectorPathTests.Fill(x, family, rng);
            return;
        }
        for (var i = 0; i < x.Length; i++)
        {
            var scale = MathF.ScaleB(1f, rng.Next(-12, 12));
            x[i] = (family - KQuantVectorPathTests.Families) switch
            {
                0 => rng.Next(-24, 25) * 0.25f * scale,                     // E2M1 points and their midpoints
                1 => MathF.BitDecrement(scale) * (rng.Next(2) == 0 ? 1 : -1) * (rng.Next(4) == 0 ? 1 : 0.5f), // just below 2^k
                _ => rng.Next(-127, 114) * scale,                           // IQ4_NL levels, ties between them
            };
        }
    }

    public static TheoryData<string> Formats() => new() { "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0" };

    static (int BlockElements, int BlockBytes, EncodePath Scalar, EncodePath[] Vector, DecodePath DecodeScalar) PathsOf(string format) => format switch
    {
        "tq1_0" => (256, TQ1_0Codec.BlockBytes, TQ1_0Codec.EncodeBlocksScalar, [TQ1_0Codec.EncodeBlocks256, TQ1_0Codec.EncodeBlocks], TQ1_0Codec.DecodeBlocksScalar),
        "tq2_0" => (256, TQ2_0Codec.BlockBytes, TQ2_0Codec.EncodeBlocksScalar, [TQ2_0Codec.EncodeBlocks256, TQ2_0Codec.EncodeBlocks], TQ2_0Codec.DecodeBlocksScalar),
        "mxfp4" => (32, MXFP4Codec.BlockBytes, MXFP4Codec.EncodeBlocksScalar, [MXFP4Codec.EncodeBlocks256, MXFP4Codec.EncodeBlocks], MXFP4Codec.DecodeBlocksScalar),
        "nvfp4" => (64, NVFP4Codec.BlockBytes, NVFP4Codec.EncodeBlocksScalar, [NVFP4Codec.EncodeBlocks256, NVFP4Codec.EncodeBlocks], NVFP4Codec.DecodeBlocksScalar),
        "q1_0" => (128, Q1_0Codec.BlockBytes, Q1_0Codec.EncodeBlocksScalar, [Q1_0Codec.EncodeBlocks256, Q1_0Codec.EncodeBlocks], Q1_0Codec.DecodeBlocksScalar),
        "q2_0" => (64, Q2_0Codec.BlockBytes, Q2_0Codec.EncodeBlocksScalar, [Q2_0Codec.EncodeBlocks256, Q2_0Codec.EncodeBlocks], Q2_0Codec.DecodeBlocksScalar),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_vector_paths_match_scalar(string format)
    {
        var (blockElements, blockBytes, scalar, vectors, _) = PathsOf(format);
        for (var family = 0; family < KQuantVectorPathTests.Families + ExtraFamilies; family++)
        {
            var rng = new Random(7919 * family + format.Length);
            var x = new float[4 * Cols];
            Fill(x, family, rng);
            var expected = new byte[x.Length / blockElements * blockBytes];
            scalar(x, expected);
            foreach (var vector in vectors)
            {
                var actual = new byte[expected.Length];
                vector(x, actual);
                AssertSame(expected, actual, $"{format} family {family}", blockBytes);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Decode_matches_scalar_on_any_bytes(string format)
    {
        var (blockElements, blockBytes, _, _, decodeScalar) = PathsOf(format);
        var codec = BlockCodecs.Get(GgmlTypeInfo.TryParse(format, out var info) ? info.Type : throw new InvalidOperationException(format));
        var rng = new Random(format.Length * 31);
        var bytes = new byte[64 * blockBytes];
        rng.NextBytes(bytes);
        var expected = new float[64 * blockElements];
        var actual = new float[expected.Length];
        decodeScalar(bytes, expected);
        codec.Decode(bytes, actual);
        Quanta.Tests.Formats.Fp16Tests.AssertSameBits(expected, actual, format);
    }

    public static TheoryData<string, bool> NonLinear()
    {
        var data = new TheoryData<string, bool>();
        foreach (var type in new[] { "iq4_nl", "iq4_xs" })
        {
            data.Add(type, false);
            data.Add(type, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NonLinear))]
    public void Iq4_lane_search_matches_scalar(string format, bool withImportance)
    {
        IBlockCodec scalar = format == "iq4_nl" ? new IQ4_NLCodec(vectorized: false) : new IQ4_XSCodec(vectorized: false);
        IBlockCodec vector = format == "iq4_nl" ? new IQ4_NLCodec(vectorized: true) : new IQ4_XSCodec(vectorized: true);
        var info = GgmlTypeInfo.Of(scalar.Type);
        // 1056 columns: the IQ4_NL row ends in blocks that do not fill a group of eight lanes.
        var cols = format == "iq4_nl" ? Cols + 32 : Cols;
        for (var family = 0; family < KQuantVectorPathTests.Families + ExtraFamilies; family++)
        {
            var rng = new Random(104729 * family + (withImportance ? 1 : 0));
            var x = new float[4 * cols];
            Fill(x, family, rng);
            var importance = withImportance
                ? Enumerable.Range(0, cols).Select(i => family % 3 == 0 && rng.Next(8) == 0 ? 0f : (float)rng.NextDouble() * 10).ToArray()
                : [];
            var expected = new byte[4 * (int)info.RowBytes(cols)];
            var actual = new byte[expected.Length];
            scalar.Encode(x, cols, importance, expected);
            vector.Encode(x, cols, importance, actual);
            AssertSame(expected, actual, $"{format} family {family}", info.BlockBytes);
        }
    }

    static void AssertSame(byte[] expected, byte[] actual, string what, int blockBytes)
    {
        var at = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == expected.Length, $"{what}: byte {at} (block {at / blockBytes}) differs");
    }
}
