using Quanta.Formats;

namespace Quanta.Tests.Formats;

public class BFloat16Tests
{
    delegate void EncodeRow(ReadOnlySpan<float> source, Span<ushort> destination);
    delegate void DecodeRow(ReadOnlySpan<ushort> source, Span<float> destination);

    static readonly (string Name, EncodeRow Run)[] Encoders =
    [
        ("public", BFloat16.FromFloat), ("512", HalfPrecisionRows<BFloat16.Lanes>.FromFloat512), ("256", HalfPrecisionRows<BFloat16.Lanes>.FromFloat256), ("128", HalfPrecisionRows<BFloat16.Lanes>.FromFloat128),
    ];

    static readonly (string Name, DecodeRow Run)[] Decoders =
    [
        ("public", BFloat16.ToFloat), ("512", HalfPrecisionRows<BFloat16.Lanes>.ToFloat512), ("256", HalfPrecisionRows<BFloat16.Lanes>.ToFloat256), ("128", HalfPrecisionRows<BFloat16.Lanes>.ToFloat128),
    ];

    /// <summary>Independent oracle: the nearer of the two bf16 neighbours, ties to even; NaN quieted with its payload.</summary>
    static ushort ExpectedEncode(float f)
    {
        var u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f))
        {
            return (ushort)((u >> 16) | 0x40);
        }
        var low = (ushort)(u >> 16);
        var high = (ushort)(low + 1);
        var rest = u & 0xFFFF;
        return rest < 0x8000 ? low : rest > 0x8000 ? high : (low & 1) == 0 ? low : high;
    }

    [Fact]
    public void Every_bf16_decodes_exactly_and_reencodes_to_itself()
    {
        for (var i = 0; i < 65536; i++)
        {
            var b = (ushort)i;
            var f = BFloat16.ToFloat(b);
            Assert.Equal((uint)b << 16, BitConverter.SingleToUInt32Bits(f));
            var isNaN = (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0;
            Assert.Equal(isNaN ? (ushort)(b | 0x40) : b, BFloat16.FromFloat(f));
        }
    }

    // By bit pattern, once each: xUnit names a float case by its printed value, so -0, 0 and the NaN payloads
    // (and values both lists hold) would share one ID and all but the first be skipped.
    public static TheoryData<uint> EdgeFloats() => new(EdgeValues().Select(BitConverter.SingleToUInt32Bits).Distinct());

    static IEnumerable<float> EdgeValues()
    {
        uint[] bits =
        [
            0x00000000, 0x80000000, 0x7F800000, 0xFF800000,
            0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FFFFFFF, 0x7F810000, // NaN payloads
            0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x00800000, // subnormals and their ties
            0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, // ties to even, just above, just below
            0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF, 0xFF7FFFFF, // rounding into ±inf
        ];
        foreach (var b in bits)
        {
            yield return BitConverter.UInt32BitsToSingle(b);
        }
        foreach (var f in Fp16Tests.EdgeValues())
        {
            yield return f;
        }
    }

    [Theory]
    [MemberData(nameof(EdgeFloats))]
    public void Edge_floats_encode_with_round_to_nearest_even(uint bits)
    {
        var f = BitConverter.UInt32BitsToSingle(bits);
        Assert.Equal(ExpectedEncode(f), BFloat16.FromFloat(f));
    }

    [Fact]
    public void Vector_rows_equal_scalar_on_random_and_edge_inputs()
    {
        var random = new Random(4321);
        var edges = EdgeValues().ToArray();
        for (var length = 0; length <= 300; length++)
        {
            var source = new float[length];
            for (var i = 0; i < length; i++)
            {
                source[i] = random.Next(3) switch
                {
                    0 => edges[random.Next(edges.Length)],
                    1 => BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32)),
                    _ => BitConverter.UInt32BitsToSingle((BitConverter.SingleToUInt32Bits((float)random.NextDouble()) & 0xFFFF0000) | (uint)random.Next(0x7FFF, 0x8002)),
                };
            }
            var expected = new ushort[length];
            for (var i = 0; i < length; i++)
            {
                expected[i] = BFloat16.FromFloat(source[i]);
                Assert.Equal(ExpectedEncode(source[i]), expected[i]);
            }
            foreach (var (name, run) in Encoders)
            {
                var actual = new ushort[length + 3];
                run(source, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, length)), $"{name} encode differs at length {length}");
                Assert.True(actual.AsSpan(length).IndexOfAnyExcept((ushort)0) < 0, $"{name} wrote past the row");
            }

            var halves = new ushort[length];
            var decoded = new float[length];
            for (var i = 0; i < length; i++)
            {
                halves[i] = (ushort)random.Next(65536);
                decoded[i] = BFloat16.ToFloat(halves[i]);
            }
            foreach (var (name, run) in Decoders)
            {
                var actual = new float[length];
                run(halves, actual);
                Fp16Tests.AssertSameBits(decoded, actual, $"{name} length {length}");
            }
        }
    }
}
