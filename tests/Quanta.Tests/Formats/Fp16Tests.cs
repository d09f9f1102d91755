using Quanta.Formats;

namespace Quanta.Tests.Formats;

public class Fp16Tests
{
    delegate void EncodeRow(ReadOnlySpan<float> source, Span<ushort> destination);
    delegate void DecodeRow(ReadOnlySpan<ushort> source, Span<float> destination);

    static readonly (string Name, EncodeRow Run)[] Encoders =
    [
        ("public", Fp16.FromFloat), ("512", HalfPrecisionRows<Fp16.Lanes>.FromFloat512), ("256", HalfPrecisionRows<Fp16.Lanes>.FromFloat256), ("128", HalfPrecisionRows<Fp16.Lanes>.FromFloat128),
    ];

    static readonly (string Name, DecodeRow Run)[] Decoders =
    [
        ("public", Fp16.ToFloat), ("512", HalfPrecisionRows<Fp16.Lanes>.ToFloat512), ("256", HalfPrecisionRows<Fp16.Lanes>.ToFloat256), ("128", HalfPrecisionRows<Fp16.Lanes>.ToFloat128),
    ];

    static bool IsHalfNaN(ushort h) => (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0;

    /// <summary>
    /// Independent oracle for decode: .NET's Half is exact for every non-NaN value; ggml's arithmetic turns a NaN
    /// into the quiet float NaN carrying the half's payload (the multiply quiets a signalling one).
    /// </summary>
    static uint ExpectedDecodeBits(ushort h)
    {
        if (IsHalfNaN(h))
        {
            return ((uint)(h & 0x8000) << 16) | 0x7FC00000u | ((uint)(h & 0x03FF) << 13);
        }
        return BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(h));
    }

    [Fact]
    public void Every_half_decodes_like_ggml_and_reencodes_to_itself()
    {
        for (var i = 0; i < 65536; i++)
        {
            var h = (ushort)i;
            var f = Fp16.ToFloat(h);
            Assert.Equal(ExpectedDecodeBits(h), BitConverter.SingleToUInt32Bits(f));
            Assert.Equal(ExpectedDecodeBits(h), BitConverter.SingleToUInt32Bits(Fp16.ToFloatComputed(h)));
            var expected = IsHalfNaN(h) ? (ushort)(0x7E00 | (h & 0x8000)) : h;
            Assert.Equal(expected, Fp16.FromFloat(f));
        }
    }

    [Fact]
    public void Every_half_decodes_the_same_on_every_vector_width()
    {
        var all = new ushort[65536];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = (ushort)i;
        }
        var expected = new float[all.Length];
        for (var i = 0; i < all.Length; i++)
        {
            expected[i] = Fp16.ToFloatComputed(all[i]);
        }
        foreach (var (name, run) in Decoders)
        {
            var actual = new float[all.Length];
            run(all, actual);
            AssertSameBits(expected, actual, name);
        }
    }

    // By bit pattern, once each: xUnit names a float case by its printed value, so -0, 0 and the NaN payloads
    // (and values both lists hold) would share one ID and all but the first be skipped.
    public static TheoryData<uint> EdgeFloats() => new(EdgeValues().Select(BitConverter.SingleToUInt32Bits).Distinct());

    internal static IEnumerable<float> EdgeValues()
    {
        uint[] bits =
        [
            0x00000000, 0x80000000, // ±0
            0x7F800000, 0xFF800000, // ±inf
            0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FBFFFFF, 0x7FFFFFFF, 0x7FC01234, 0xFFA00000, // NaN payloads
            0x00000001, 0x007FFFFF, 0x00800000, 0x80000001, // float subnormals
            0x33000000, 0x33000001, 0x32FFFFFF, // half of the smallest half subnormal (2^-25): tie to 0, just above, below
            0x33800000, 0x33C00000, 0x33C00001, 0x34200000, // 2^-24, 1.5·2^-24 (tie → even 2), 2.5·2^-24 (tie → 2)
            0x387FC000, 0x387FE000, 0x387FF000, 0x38800000, // largest half subnormal, ties at the normal boundary
            0x3F800000, 0x3F801000, 0x3F802000, 0x3F803000, 0x3F801001, 0x3F800FFF, // 1 and rounding ties around it
            0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, // 65504, below 65520, 65520 (→ inf), above
            0xC77FE000, 0xC77FF000, 0x7F7FFFFF, 0xFF7FFFFF, // negative overflow, float max
            0x3EAAAAAB, 0xBEAAAAAB, 0x3DCCCCCD, 0x40490FDB, // 1/3, 0.1, π
        ];
        foreach (var b in bits)
        {
            yield return BitConverter.UInt32BitsToSingle(b);
        }
        for (var e = -30; e <= 17; e++)
        {
            var p = MathF.ScaleB(1f, e);
            yield return p;
            yield return -p;
            yield return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(p) + 0x1000); // ties
            yield return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(p) + 0x3000);
        }
    }

    [Theory]
    [MemberData(nameof(EdgeFloats))]
    public void Edge_floats_encode_with_ieee_round_to_nearest_even(uint bits)
    {
        var f = BitConverter.UInt32BitsToSingle(bits);
        var actual = Fp16.FromFloat(f);
        if (float.IsNaN(f))
        {
            Assert.Equal((ushort)(0x7E00 | (BitConverter.SingleToUInt32Bits(f) >> 16 & 0x8000)), actual);
        }
        else
        {
            // .NET's Half conversion is IEEE round-to-nearest-even with overflow to ±inf, as ggml's is.
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f), actual);
        }
    }

    [Fact]
    public void Vector_rows_equal_scalar_on_random_and_edge_inputs()
    {
        var random = new Random(1234);
        var edges = EdgeValues().ToArray();
        for (var length = 0; length <= 300; length++)
        {
            var source = new float[length];
            for (var i = 0; i < length; i++)
            {
                source[i] = random.Next(4) switch
                {
                    0 => edges[random.Next(edges.Length)],
                    1 => BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32)),
                    2 => (float)(random.NextDouble() * 2 - 1) * MathF.ScaleB(1f, random.Next(-26, 18)),
                    _ => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(MathF.ScaleB(1f, random.Next(-26, 17))) + (uint)(random.Next(16) << 12)),
                };
            }
            var expected = new ushort[length];
            for (var i = 0; i < length; i++)
            {
                expected[i] = Fp16.FromFloat(source[i]);
            }
            foreach (var (name, run) in Encoders)
            {
                var actual = new ushort[length + 3]; // longer destination: only the first length elements are written
                run(source, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, length)), $"{name} encode differs at length {length}");
                Assert.True(actual.AsSpan(length).IndexOfAnyExcept((ushort)0) < 0, $"{name} wrote past the row");
            }

            var halves = new ushort[length];
            for (var i = 0; i < length; i++)
            {
                halves[i] = (ushort)random.Next(65536);
            }
            var decoded = new float[length];
            for (var i = 0; i < length; i++)
            {
                decoded[i] = Fp16.ToFloatComputed(halves[i]);
            }
            foreach (var (name, run) in Decoders)
            {
                var actual = new float[length];
                run(halves, actual);
                AssertSameBits(decoded, actual, $"{name} length {length}");
            }
        }
    }

    [Fact]
    public void Rows_reject_a_short_destination()
    {
        Assert.Throws<ArgumentException>(() => Fp16.FromFloat(new float[4], new ushort[3]));
        Assert.Throws<ArgumentException>(() => Fp16.ToFloat(new ushort[4], new float[3]));
        Assert.Throws<ArgumentException>(() => HalfPrecisionRows<Fp16.Lanes>.FromFloat256(new float[40], new ushort[39]));
    }

    internal static void AssertSameBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var e = BitConverter.SingleToUInt32Bits(expected[i]);
            var a = BitConverter.SingleToUInt32Bits(actual[i]);
            if (e != a)
            {
                Assert.Fail($"{what}: element {i} is 0x{a:X8}, expected 0x{e:X8}");
            }
        }
    }
}
