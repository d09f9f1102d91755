using Quanta.Codecs;

namespace Quanta.Tests.Codecs;

/// <summary>
/// The lane-parallel importance paths of Q4_0, Q4_1, Q5_0 and Q5_1 (eight blocks per vector, the rest scalar)
/// against the scalar specification, byte for byte, on rows mixing many kinds of block and importance.
/// </summary>
public class LegacyWeightedLaneTests
{
    delegate void EncodeWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination);

    public static TheoryData<string> Formats() => new() { "q4_0", "q4_1", "q5_0", "q5_1" };

    static (int BlockBytes, EncodeWeighted Scalar, EncodeWeighted Lanes) PathsOf(string format) => format switch
    {
        "q4_0" => (Q4_0Codec.BlockBytes, Q4_0Codec.EncodeRowWeightedScalar, Q4_0Codec.EncodeRowWeightedLanes),
        "q4_1" => (Q4_1Codec.BlockBytes, Q4_1Codec.EncodeRowWeightedScalar, Q4_1Codec.EncodeRowWeightedLanes),
        "q5_0" => (Q5_0Codec.BlockBytes, Q5_0Codec.EncodeRowWeightedScalar, Q5_0Codec.EncodeRowWeightedLanes),
        "q5_1" => (Q5_1Codec.BlockBytes, Q5_1Codec.EncodeRowWeightedScalar, Q5_1Codec.EncodeRowWeightedLanes),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    /// <summary>One block of a randomly chosen family.</summary>
    static void FillBlock(Random random, Span<float> block)
    {
        var kind = random.Next(14);
        var scale = MathF.ScaleB(1f, random.Next(-30, 30));
        for (var j = 0; j < block.Length; j++)
        {
            block[j] = kind switch
            {
                0 => Gaussian(random) * 0.02f, // like trained weights
                1 => (float)(random.NextDouble() * 2 - 1) * scale, // uniform
                2 => random.Next(50) == 0 ? Gaussian(random) * 40 * scale : Gaussian(random) * scale, // outliers
                3 => random.Next(-16, 17) * 0.125f * scale, // exact grid points: ties on rounding
                4 => random.Next(-8, 8) * 0.5f, // halves
                5 => random.Next(2) == 0 ? 0f : -0f, // signed zeros only
                6 => j % 2 == 0 ? scale : -scale, // equal magnitudes of both signs
                7 => 3.25f * scale, // constant block
                8 => -1.75f * scale, // constant negative block (max == min)
                9 => (float)(random.NextDouble() * 2 - 1) * 1e-38f, // tiny
                10 => (float)(random.NextDouble() * 2 - 1) * 1e-16f, // below GROUP_MAX_EPS
                11 => (float)(random.NextDouble() * 2 - 1) * 3e18f, // huge (squares stay finite)
                12 => j < 3 ? Gaussian(random) : 0f, // mostly zeros
                _ => (float)random.NextDouble() * scale, // all positive
            };
        }
        if (random.Next(4) == 0)
        {
            block[random.Next(block.Length)] = -block[random.Next(block.Length)]; // duplicated |max| with the other sign
        }
    }

    static float[] Importance(Random random, int cols)
    {
        var kind = random.Next(5);
        var w = new float[cols];
        for (var j = 0; j < cols; j++)
        {
            w[j] = kind switch
            {
                0 => (float)random.NextDouble(),
                1 => 1f,
                2 => random.Next(4) == 0 ? 0f : (float)random.NextDouble() * 100, // zero weights
                3 => MathF.ScaleB((float)random.NextDouble(), random.Next(-20, 20)),
                _ => (float)(random.NextDouble() * random.NextDouble()),
            };
        }
        return w;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Lanes_match_scalar_byte_for_byte(string format)
    {
        var (blockBytes, scalar, lanes) = PathsOf(format);
        var random = new Random(format.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        for (var round = 0; round < 300; round++)
        {
            var blocks = round < 4 ? 8 * (round + 1) : 1 + random.Next(40); // whole lane sets and ragged tails
            var cols = blocks * 32;
            var x = new float[cols];
            var uniform = random.Next(3) == 0 ? random.Next(14) : -1;
            for (var b = 0; b < blocks; b++)
            {
                if (uniform >= 0)
                {
                    FillBlock(new Random(uniform * 977 + b), x.AsSpan(b * 32, 32));
                }
                else
                {
                    FillBlock(random, x.AsSpan(b * 32, 32));
                }
            }
            var importance = Importance(random, cols);
            var expected = new byte[blocks * blockBytes];
            var actual = new byte[expected.Length];
            scalar(x, importance, expected);
            lanes(x, importance, actual);
            var at = expected.AsSpan().CommonPrefixLength(actual);
            Assert.True(at == expected.Length,
                $"{format} round {round}: byte {at} (block {at / blockBytes}) differs; block = [{string.Join(", ", x.Skip(at / blockBytes * 32).Take(32).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]");
        }
    }
}
