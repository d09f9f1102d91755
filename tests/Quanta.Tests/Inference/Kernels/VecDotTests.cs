using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// Every dot-product kernel at every width against its scalar twin (bit for bit: activation bytes and results),
/// and against the definition: weights and activations decoded by the codecs, multiplied and summed in double.
/// Vector widths the machine lacks are emulated by .NET with the same IEEE operations, so all three always run.
/// </summary>
public sealed class VecDotTests
{
    const int Columns = 1024;
    const int Rows = 6;

    static readonly KernelWidth[] Widths = [KernelWidth.Scalar, KernelWidth.Vector256, KernelWidth.Vector512];

    public static TheoryData<GgmlType> Types() => [.. VecDots.All.Select(d => d.WeightType)];

    [Theory]
    [MemberData(nameof(Types))]
    public void Vector_paths_match_the_scalar_twin(GgmlType type)
    {
        Assert.True(VecDots.TryGet(type, out var dot));
        var (weights, rowBytes) = RandomWeights(type, seed: 1);
        for (var family = 0; family < 4; family++)
        {
            var x = RandomActivations(family, seed: 10 + family);
            var expected = new byte[dot.ActivationRowBytes(Columns)];
            dot.QuantizeActivations(x, expected, KernelWidth.Scalar);
            foreach (var width in Widths)
            {
                var activations = new byte[expected.Length];
                dot.QuantizeActivations(x, activations, width);
                Assert.Equal(expected, activations);
                for (var r = 0; r < Rows; r++)
                {
                    var row = weights.AsSpan(r * rowBytes, rowBytes);
                    var scalar = ScalarTwin(dot, row, expected, width);
                    Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(dot.Dot(row, activations, Columns, width)));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Dot_equals_decoded_weights_times_decoded_activations(GgmlType type)
    {
        Assert.True(VecDots.TryGet(type, out var dot));
        var (weights, rowBytes) = RandomWeights(type, seed: 2);
        var decodedWeights = new float[Columns];
        var decodedActivations = new float[Columns];
        for (var family = 0; family < 4; family++)
        {
            var x = RandomActivations(family, seed: 20 + family);
            var activations = new byte[dot.ActivationRowBytes(Columns)];
            dot.QuantizeActivations(x, activations, KernelWidths.Current);
            Decode(dot.ActivationType, activations, decodedActivations);
            for (var r = 0; r < Rows; r++)
            {
                var row = weights.AsSpan(r * rowBytes, rowBytes);
                Decode(type, row, decodedWeights);
                double exact = 0, magnitude = 0;
                for (var i = 0; i < Columns; i++)
                {
                    exact += (double)decodedWeights[i] * decodedActivations[i];
                    magnitude += Math.Abs((double)decodedWeights[i] * decodedActivations[i]);
                }
                if (type is GgmlType.TQ1_0 or GgmlType.TQ2_0)
                {
                    // ggml sums the stored trits 0..2 times the activations and subtracts the activations' sums after,
                    // so its float lanes are as large as Σ 2·d·|a| even where most weights are zero: that is the
                    // magnitude its rounding follows.
                    var blockBytes = GgmlTypeInfo.Of(type).BlockBytes;
                    for (var b = 0; b < Columns / 256; b++)
                    {
                        var d = Math.Abs(Fp16.ToFloat(MemoryMarshal.Read<ushort>(row[((b + 1) * blockBytes - 2)..])));
                        for (var i = 256 * b; i < 256 * (b + 1); i++)
                        {
                            magnitude += 2 * d * Math.Abs((double)decodedActivations[i]);
                        }
                    }
                }
                if (dot.ActivationType == GgmlType.Q8_1)
                {
                    // ggml's affine formats take Σ(m·a) as m·s with s the block's fp16 sum, not the decoded values' sum.
                    var blockBytes = GgmlTypeInfo.Of(type).BlockBytes;
                    for (var b = 0; b < Columns / 32; b++)
                    {
                        var m = Fp16.ToFloat(MemoryMarshal.Read<ushort>(row[(b * blockBytes + 2)..]));
                        var sum = Fp16.ToFloat(MemoryMarshal.Read<ushort>(activations.AsSpan(b * 36 + 2)));
                        double decodedSum = 0;
                        for (var i = 0; i < 32; i++)
                        {
                            decodedSum += decodedActivations[32 * b + i];
                        }
                        exact += m * (sum - decodedSum);
                    }
                }
                var actual = dot.Dot(row, activations, Columns, KernelWidths.Current);
                Assert.True(Math.Abs(actual - exact) <= 1e-6 * magnitude + 1e-30,
                    $"{type} family {family} row {r}: {actual} vs {exact} (Σ|w·a| {magnitude})");
            }
        }
    }

    /// <summary>
    /// The scalar twin a width must equal: one order for every width; F32's and F16's row dots take the AVX2 build's
    /// order at 512 bits too (the batch and F16 single-token orders per width: <see cref="FloatKernelTests"/>).
    /// </summary>
    static unsafe float ScalarTwin(IVecDot dot, ReadOnlySpan<byte> row, ReadOnlySpan<byte> activations, KernelWidth width)
    {
        if (dot.WeightType is not (GgmlType.F32 or GgmlType.F16))
        {
            return dot.Dot(row, activations, Columns, KernelWidth.Scalar);
        }
        fixed (byte* w = row, a = activations)
        {
            return dot.WeightType == GgmlType.F32
                ? FloatVecDot.Scalar<F32Row, F32Row>(w, a, Columns, doubleTail: false, FloatDotOrder.Lanes(F32Dot.Order(width)))
                : FloatVecDot.Scalar<F16Row, F16Row>(w, a, Columns, doubleTail: true, FloatDotOrder.Lanes(F32Dot.Order(width)));
        }
    }

    /// <summary>The quantized types' tiles (F32's and F16's follow tinyBLAS instead: <see cref="FloatKernelTests"/>).</summary>
    public static TheoryData<GgmlType> TiledTypes() =>
        [.. VecDots.All.Where(d => d is IMatrixDot && d.WeightType is not (GgmlType.F32 or GgmlType.F16)).Select(d => d.WeightType)];

    [Theory]
    [MemberData(nameof(TiledTypes))]
    public void Tiles_equal_the_scalar_dot_of_every_row_and_token(GgmlType type)
    {
        // 6 rows (a full row group and a partial one) × 37 tokens (a full token group and a partial one).
        const int tokens = 37;
        Assert.True(VecDots.TryGet(type, out var dot));
        var tiles = (IMatrixDot)dot;
        var (weights, rowBytes) = RandomWeights(type, seed: 3);
        var activationRowBytes = dot.ActivationRowBytes(Columns);
        var activations = new byte[tokens * activationRowBytes];
        for (var t = 0; t < tokens; t++)
        {
            dot.QuantizeActivations(RandomActivations(t % 4, seed: 30 + t), activations.AsSpan(t * activationRowBytes, activationRowBytes), KernelWidth.Scalar);
        }
        var widths = Widths.Where(tiles.CanMultiply).ToArray();
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? 2 : 0, widths.Length);
        Assert.False(tiles.CanMultiply(KernelWidth.Scalar));
        foreach (var width in widths)
        {
            // A stride wider than the rows, with a sentinel in the gaps that must survive.
            const int stride = Rows + 3;
            var output = Enumerable.Repeat(float.NaN, tokens * stride).ToArray();
            tiles.Multiply(weights, rowBytes, Rows, activations, activationRowBytes, tokens, Columns, output, stride);
            for (var t = 0; t < tokens; t++)
            {
                for (var r = 0; r < Rows; r++)
                {
                    var expected = dot.Dot(weights.AsSpan(r * rowBytes, rowBytes), activations.AsSpan(t * activationRowBytes, activationRowBytes), Columns, KernelWidth.Scalar);
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(output[(t * stride) + r]));
                }
                for (var r = Rows; r < stride; r++)
                {
                    Assert.True(float.IsNaN(output[(t * stride) + r]), $"{width}: the gap after token {t}'s rows was written");
                }
            }
        }
    }

    [Fact]
    public void Q8_0_activations_round_as_ggml_cpu_x86_does()
    {
        // amax 127 makes the multiplier exactly 1: halves go to the even neighbour (_mm256_round_ps), where the
        // reference quantizer (roundf) would move them away from zero.
        var x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        x[4] = 0.5f;
        var bytes = new byte[Q8_0Activations.BlockBytes];
        foreach (var width in Widths)
        {
            Q8_0Activations.Quantize(x, bytes, width);
            Assert.Equal(Fp16.FromFloat(1f), MemoryMarshal.Read<ushort>(bytes));
            Assert.Equal(new sbyte[] { 127, 2, 4, -2, 0 }, MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan(2, 5)).ToArray());

            // Q8_1: the same quants after d and s = d·Σq = 131.
            var q8_1 = new byte[Q8_1Activations.BlockBytes];
            Q8_1Activations.Quantize(x, q8_1, width);
            Assert.Equal(Fp16.FromFloat(1f), MemoryMarshal.Read<ushort>(q8_1));
            Assert.Equal(Fp16.FromFloat(131f), MemoryMarshal.Read<ushort>(q8_1.AsSpan(2)));
            Assert.Equal(bytes.AsSpan(2).ToArray(), q8_1.AsSpan(4).ToArray());
        }
    }

    [Fact]
    public void Q8_K_activations_follow_the_signed_maximum_and_round_half_to_even()
    {
        // The first element of largest magnitude is −127: iscale = −127/−127 = 1, d = 1; a later +127 ties and
        // does not replace it. 2.5 rounds to 2 (nearest_int), and sums of 16 follow.
        var x = new float[256];
        x[0] = -127f;
        x[1] = 127f;
        x[2] = 2.5f;
        x[3] = 3.5f;
        x[16] = -1.5f;
        var bytes = new byte[Q8_KActivations.BlockBytes];
        foreach (var width in Widths)
        {
            Q8_KActivations.Quantize(x, bytes, width);
            Assert.Equal(1f, MemoryMarshal.Read<float>(bytes));
            Assert.Equal(new sbyte[] { -127, 127, 2, 4 }, MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan(4, 4)).ToArray());
            Assert.Equal(-2, (sbyte)bytes[4 + 16]);
            Assert.Equal(6, MemoryMarshal.Read<short>(bytes.AsSpan(Q8_KActivations.SumsOffset)));
            Assert.Equal(-2, MemoryMarshal.Read<short>(bytes.AsSpan(Q8_KActivations.SumsOffset + 2)));
        }
    }

    [Theory]
    [InlineData(128)]
    [InlineData(160)]
    [InlineData(77)]
    public void Attention_dot_with_a_widened_operand_equals_the_F16_dot_at_every_width(int n)
    {
        // Attention widens the query and the probabilities once and dots them with F16 keys and values: every
        // width must give F16Dot's scalar bits, the tail past the last 32 included.
        var rng = new Random(n);
        var x = new ushort[n];
        var y = new ushort[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = Fp16.FromFloat((float)((rng.NextDouble() * 2) - 1) * (i % 17 == 0 ? 40 : 1));
            y[i] = Fp16.FromFloat((float)rng.NextDouble() * (i % 5 == 0 ? 1e-3f : 1));
        }
        var wide = y.Select(Fp16.ToFloat).ToArray();
        var expected = F16Dot.Dot(x, y, KernelWidth.Scalar);
        Assert.NotEqual(0f, expected);
        foreach (var width in Widths)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(Attention.F16TimesFloat(x, wide, width)));
        }
    }

    [Theory]
    [InlineData(32, 32)]
    [InlineData(128, 160)]
    [InlineData(512, 515)]
    public void Attention_four_rows_at_once_equal_the_dot_of_each(int n, int stride)
    {
        // The keys and the value dimensions are dotted four rows at a time (with AVX-512, two 8-lane sums to a
        // register): each result must be the single-row dot's bits, on this machine's widest path.
        var rng = new Random(n + stride);
        var rows = new float[(3 * stride) + n];
        var y = new float[n];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = Fp16.ToFloat(Fp16.FromFloat((float)((rng.NextDouble() * 2) - 1) * (i % 13 == 0 ? 30 : 1)));
        }
        for (var i = 0; i < n; i++)
        {
            y[i] = (float)rng.NextDouble() * (i % 7 == 0 ? 1e-4f : 1);
        }
        var results = new float[4];
        Attention.FourDots(rows, stride, y, results);
        for (var r = 0; r < 4; r++)
        {
            var expected = Attention.FloatTimesFloat(rows.AsSpan(r * stride, n), y, KernelWidth.Vector256);
            Assert.NotEqual(0f, expected);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(results[r]));
        }
    }

    static (byte[] Bytes, int RowBytes) RandomWeights(GgmlType type, int seed)
    {
        var rng = new Random(seed);
        var values = new float[Rows * Columns];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(rng.NextDouble() * 2 - 1) * 0.05f * (i % 97 == 0 ? 20 : 1);
        }
        var rowBytes = (int)GgmlTypeInfo.Of(type).RowBytes(Columns);
        var bytes = new byte[Rows * rowBytes];
        if (type == GgmlType.F32)
        {
            MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
        }
        else if (type is GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ1_S or GgmlType.IQ1_M)
        {
            // No encoder without an importance matrix; every bit pattern is a valid block (grid indices, signs and
            // scales all in range), so random bytes with a small finite fp16 d per block cover them: in front, or
            // for IQ1_M spread over the top nibbles of its four scale words.
            rng.NextBytes(bytes);
            var blockBytes = GgmlTypeInfo.Of(type).BlockBytes;
            for (var o = 0; o < bytes.Length; o += blockBytes)
            {
                var d = Fp16.FromFloat((float)(0.001 + 0.01 * rng.NextDouble()));
                if (type != GgmlType.IQ1_M)
                {
                    MemoryMarshal.Write(bytes.AsSpan(o), d);
                    continue;
                }
                for (var i = 0; i < 4; i++)
                {
                    var word = bytes.AsSpan(o + 48 + 2 * i);
                    MemoryMarshal.Write(word, (ushort)((MemoryMarshal.Read<ushort>(word) & 0x0FFF) | (((d >> (4 * i)) & 0xF) << 12)));
                }
            }
        }
        else
        {
            BlockCodecs.Get(type).Encode(values, Columns, [], bytes);
        }
        return (bytes, rowBytes);
    }

    /// <summary>Four families: uniform, Gaussian-like with outliers, one sign only, and many exact halves (ties).</summary>
    static float[] RandomActivations(int family, int seed)
    {
        var rng = new Random(seed);
        var x = new float[Columns];
        for (var i = 0; i < Columns; i++)
        {
            x[i] = family switch
            {
                0 => (float)(rng.NextDouble() * 2 - 1),
                1 => (float)((rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * (i % 50 == 0 ? 30 : 1)),
                2 => (float)rng.NextDouble() * 3,
                _ => (rng.Next(-254, 255) / 2f) * (i % 32 == 0 ? 1 : 1),
            };
        }
        if (family == 3)
        {
            for (var i = 0; i < Columns; i += 32)
            {
                x[i] = 127f;
            }
        }
        return x;
    }

    static void Decode(GgmlType type, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        if (type == GgmlType.F32)
        {
            MemoryMarshal.Cast<byte, float>(bytes)[..destination.Length].CopyTo(destination);
        }
        else
        {
            BlockCodecs.Get(type).Decode(bytes[..(int)GgmlTypeInfo.Of(type).RowBytes(destination.Length)], destination);
        }
    }
}
