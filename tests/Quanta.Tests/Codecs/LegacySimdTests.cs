using Quanta.Codecs;

namespace Quanta.Tests.Codecs;

/// <summary>
/// The vector encoders of the legacy formats against their scalar specification, byte for byte, on inputs
/// chosen to hit every place a vector path could drift: ties on the rounding points, equal magnitudes of both
/// signs, signed zeros, constant blocks, and scales so small that 1/d overflows.
/// </summary>
public class LegacySimdTests
{
    delegate void EncodeBlocks(ReadOnlySpan<float> x, Span<byte> destination);

    public static TheoryData<string> Formats() => new() { "q8_0", "q4_0", "q4_1", "q5_0", "q5_1" };

    static (int BlockBytes, (string Name, EncodeBlocks Run)[] Paths) PathsOf(string format) => format switch
    {
        "q8_0" => (Q8_0Codec.BlockBytes, [("scalar", Q8_0Codec.EncodeBlocksScalar), ("dispatch", Q8_0Codec.EncodeBlocks), ("256", Q8_0Codec.EncodeBlocks256), ("128", Q8_0Codec.EncodeBlocks128)]),
        "q4_0" => (Q4_0Codec.BlockBytes, [("scalar", Q4_0Codec.EncodeBlocksScalar), ("dispatch", Q4_0Codec.EncodeBlocks), ("256", Q4_0Codec.EncodeBlocks256), ("128", Q4_0Codec.EncodeBlocks128)]),
        "q4_1" => (Q4_1Codec.BlockBytes, [("scalar", Q4_1Codec.EncodeBlocksScalar), ("dispatch", Q4_1Codec.EncodeBlocks), ("256", Q4_1Codec.EncodeBlocks256), ("128", Q4_1Codec.EncodeBlocks128)]),
        "q5_0" => (Q5_0Codec.BlockBytes, [("scalar", Q5_0Codec.EncodeBlocksScalar), ("dispatch", Q5_0Codec.EncodeBlocks), ("256", Q5_0Codec.EncodeBlocks256), ("128", Q5_0Codec.EncodeBlocks128)]),
        "q5_1" => (Q5_1Codec.BlockBytes, [("scalar", Q5_1Codec.EncodeBlocksScalar), ("dispatch", Q5_1Codec.EncodeBlocks), ("256", Q5_1Codec.EncodeBlocks256), ("128", Q5_1Codec.EncodeBlocks128)]),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>One block of a randomly chosen kind.</summary>
    static void FillBlock(Random random, Span<float> block)
    {
        var kind = random.Next(12);
        var scale = MathF.ScaleB(1f, random.Next(-20, 20));
        for (var j = 0; j < block.Length; j++)
        {
            block[j] = kind switch
            {
                0 => (float)(random.NextDouble() * 2 - 1) * scale,
                1 => (float)(random.NextDouble() * 0.04 - 0.02), // like trained weights
                2 => random.Next(-16, 17) * 0.125f * scale, // exact grid points: products land on .5 ties
                3 => random.Next(-8, 8) * 0.5f, // halves: ties for every rounding rule
                4 => random.Next(2) == 0 ? 0f : -0f, // signed zeros only
                5 => j == 0 ? -0f : random.Next(2) == 0 ? 0f : (float)random.NextDouble(), // zero minimum, mixed signs
                6 => j % 2 == 0 ? scale : -scale, // equal magnitudes of both signs
                7 => 3.25f * scale, // constant block
                8 => (float)(random.NextDouble() * 2 - 1) * 1e-38f, // 1/d overflows to infinity
                9 => (float)(random.NextDouble() * 2 - 1) * 3e-38f, // subnormal d with a finite inverse
                10 => j == 5 ? 0f : (float)-random.NextDouble() * scale, // maximum exactly +0
                _ => (float)(random.NextDouble() * 2 - 1) * 3e38f, // near the float limit
            };
        }
        if (kind == 0 && random.Next(4) == 0)
        {
            block[random.Next(block.Length)] = -block[random.Next(block.Length)]; // duplicated |max| with the other sign
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Vector_paths_match_scalar_byte_for_byte(string format)
    {
        var (blockBytes, paths) = PathsOf(format);
        var random = new Random(format.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        for (var round = 0; round < 400; round++)
        {
            var blocks = 1 + random.Next(24);
            var x = new float[blocks * 32];
            for (var b = 0; b < blocks; b++)
            {
                FillBlock(random, x.AsSpan(b * 32, 32));
            }
            var expected = new byte[blocks * blockBytes];
            paths[0].Run(x, expected);
            foreach (var (name, run) in paths.Skip(1))
            {
                var actual = new byte[expected.Length];
                run(x, actual);
                var at = expected.AsSpan().CommonPrefixLength(actual);
                Assert.True(at == expected.Length,
                    $"{format} {name}: byte {at} (block {at / blockBytes}) differs; block = [{string.Join(", ", x.Skip(at / blockBytes * 32).Take(32).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]");
            }
        }
    }

    [Fact]
    public void Q8_0_scale_overflow_keeps_ggml_low_byte()
    {
        // amax 1e-39: d is subnormal and 1/d is +inf; x·(1/d) is ±inf (or NaN for 0), and the x86 conversion of
        // those to int8 keeps the low byte of 0x80000000, which is 0.
        var x = new float[32];
        x[0] = 1e-39f;
        x[1] = -5e-40f;
        var bytes = new byte[34];
        Q8_0Codec.EncodeBlocksScalar(x, bytes);
        Assert.All(bytes.AsSpan(2).ToArray(), b => Assert.Equal(0, b));
    }
}

public class LegacyDecodeSimdTests
{
    delegate void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination);

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    [InlineData("q4_1")]
    [InlineData("q5_0")]
    [InlineData("q5_1")]
    public void Vector_decode_matches_scalar_bit_for_bit(string format)
    {
        var (blockBytes, scalar, vector) = format switch
        {
            "q8_0" => (Q8_0Codec.BlockBytes, (DecodeBlocks)Q8_0Codec.DecodeBlocksScalar, (DecodeBlocks)Q8_0Codec.DecodeBlocks256),
            "q4_0" => (Q4_0Codec.BlockBytes, (DecodeBlocks)Q4_0Codec.DecodeBlocksScalar, (DecodeBlocks)Q4_0Codec.DecodeBlocks256),
            "q4_1" => (Q4_1Codec.BlockBytes, (DecodeBlocks)Q4_1Codec.DecodeBlocksScalar, (DecodeBlocks)Q4_1Codec.DecodeBlocks256),
            "q5_0" => (Q5_0Codec.BlockBytes, (DecodeBlocks)Q5_0Codec.DecodeBlocksScalar, (DecodeBlocks)Q5_0Codec.DecodeBlocks256),
            _ => (Q5_1Codec.BlockBytes, (DecodeBlocks)Q5_1Codec.DecodeBlocksScalar, (DecodeBlocks)Q5_1Codec.DecodeBlocks256),
        };
        var random = new Random(7);
        for (var round = 0; round < 200; round++)
        {
            var blocks = random.Next(20);
            var source = new byte[blocks * blockBytes];
            random.NextBytes(source); // every scale bit pattern, NaN and infinity included
            var expected = new float[blocks * 32];
            var actual = new float[blocks * 32];
            scalar(source, expected);
            vector(source, actual);
            Quanta.Tests.Formats.Fp16Tests.AssertSameBits(expected, actual, $"{format} round {round}");
        }
    }
}
