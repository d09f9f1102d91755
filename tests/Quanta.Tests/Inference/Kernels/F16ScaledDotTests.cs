using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// One token against F16 weights converted the cheap way (<see cref="F16ScaledDot"/>: the half's bits moved into a
/// float's places, the activations times 2^112) must give <c>ggml_vec_dot_f16</c>'s result bit for bit, the scalar
/// twin being the specification: subnormal weights and activations, signed zeros, the largest halves, a tail past
/// the last whole step, and rows holding an infinity or a NaN (which the cheap way cannot convert, so it must notice
/// them). Also the batch tiles' token groups (six and five, as tinyBLAS's <c>BLOCK_SIZE</c>) for many batch sizes.
/// The class runs at every width in .ci/run.
/// </summary>
public sealed unsafe class F16ScaledDotTests
{
    static readonly KernelWidth[] Widths = [KernelWidth.Scalar, KernelWidth.Vector256, KernelWidth.Vector512];

    [Theory]
    [InlineData(2048)]
    [InlineData(1000)]
    [InlineData(64)]
    [InlineData(40)]
    public void Scaled_dot_equals_vec_dot_bit_for_bit_at_every_width(int n)
    {
        var rng = new Random(n);
        for (var row = 0; row < 8; row++)
        {
            // Weights with exponent fields 0..20 (a fifth subnormal or zero, up to 2^5), activations over every finite
            // exponent (subnormal to 65504): products stay finite, so the sums compare as numbers.
            var w = RandomHalves(rng, n, maxExponent: 20);
            var x = RandomHalves(rng, n, maxExponent: 30).Select(Fp16.ToFloat).ToArray();
            AssertMatchesSpecification(w, x, n);
        }
    }

    [Fact]
    public void Extreme_values_and_signed_zeros_are_exact()
    {
        const int n = 128;
        var w = new ushort[n];
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            // ±0, the smallest subnormal, the largest subnormal, the largest half, against ±65504 and subnormals.
            w[i] = (i % 5) switch { 0 => 0x8000, 1 => 0x0001, 2 => 0x83FF, 3 => 0x7BFF, _ => 0xFBFF };
            x[i] = Fp16.ToFloat((i % 4) switch { 0 => 0x7BFF, 1 => 0x8001, 2 => 0x0000, _ => 0xFBFF });
        }
        AssertMatchesSpecification(w, x, n);
        // The largest activation times 2^112 still fits a float.
        Assert.True(float.IsFinite(65504f * F16ScaledDot.ActivationScale));
    }

    [Theory]
    [InlineData(0x7C00, 5)]
    [InlineData(0xFC00, 700)]
    [InlineData(0x7E01, 63)]
    [InlineData(0xFD00, 1026)]
    public void Rows_with_an_infinity_or_a_nan_are_converted_the_widened_way(int special, int at)
    {
        // 1024 + 4 elements: the special half in the vector steps or in the tail. The cheap conversion would turn
        // it into a finite number; the result must be the infinity or the NaN ggml gives.
        const int n = 1028;
        var rng = new Random(special + at);
        var w = RandomHalves(rng, n, maxExponent: 15);
        var x = RandomHalves(rng, n, maxExponent: 15).Select(Fp16.ToFloat).ToArray();
        w[at] = (ushort)special;
        var expected = AssertMatchesSpecification(w, x, n);
        Assert.False(float.IsFinite(expected));
    }

    [Fact]
    public void One_token_through_chunks_of_rows_equals_the_matrix_kernel()
    {
        const int rows = 40, n = 512;
        var rng = new Random(11);
        var weights = MemoryMarshal.AsBytes(RandomHalves(rng, rows * n, maxExponent: 14).AsSpan()).ToArray();
        var dot = new F16Dot();
        var activationRowBytes = dot.ActivationRowBytes(n);
        var activations = new byte[activationRowBytes];
        var x = Enumerable.Range(0, n).Select(i => (float)((rng.NextDouble() - 0.5) * (i % 31 == 0 ? 40 : 2))).ToArray();
        dot.QuantizeActivations(x, activations, KernelWidth.Scalar);
        var expected = new float[rows];
        dot.Multiply(weights, n * 2, rows, activations, activationRowBytes, 1, n, expected, rows);
        var wide = new float[n];
        var scaled = new float[n];
        F16Dot.WidenActivations(activations, activationRowBytes, 1, n, wide);
        F16Dot.ScaleActivations(wide, scaled);
        var actual = new float[rows];
        F16Dot.MultiplyOneToken(weights.AsSpan(0, 16 * n * 2), n * 2, 16, wide, scaled, n, actual);
        F16Dot.MultiplyOneToken(weights.AsSpan(16 * n * 2), n * 2, rows - 16, wide, scaled, n, actual.AsSpan(16));
        for (var r = 0; r < rows; r++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected[r]), BitConverter.SingleToInt32Bits(actual[r]));
            double exact = 0, magnitude = 0;
            for (var i = 0; i < n; i++)
            {
                var p = (double)Fp16.ToFloat(MemoryMarshal.Read<ushort>(weights.AsSpan(2 * ((r * n) + i)))) * wide[i];
                exact += p;
                magnitude += Math.Abs(p);
            }
            Assert.True(Math.Abs(actual[r] - exact) <= 1e-6 * magnitude, $"row {r}: {actual[r]} vs {exact}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(17)]
    [InlineData(20)]
    [InlineData(128)]
    public void Batch_tiles_in_groups_of_six_and_five_equal_the_scalar_twin(int tokens)
    {
        // 20 rows: five groups of four, enough for the 512-bit tiles to cut the rows into slices of 512 elements
        // (two whole and a partial one of 16), which must not change a sum; 12 rows and 256 elements: not sliced.
        foreach (var (rows, k) in new[] { (20, 1040), (12, 256) })
        {
            BatchTiles(tokens, rows, k);
        }
    }

    static void BatchTiles(int tokens, int rows, int k)
    {
        var rng = new Random(tokens);
        var a = Enumerable.Range(0, rows * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var b = Enumerable.Range(0, tokens * k).Select(i => (float)((rng.NextDouble() - 0.5) * (i % 50 == 0 ? 1000 : 1))).ToArray();
        var ldc = rows + 1;
        var c = new float[tokens * ldc];
        fixed (float* pa = a, pb = b, pc = c)
        {
            foreach (var width in Widths)
            {
                Array.Fill(c, float.NaN);
                FloatTiles.Multiply(pa, k, rows, pb, k, tokens, k, pc, ldc, width);
                for (var t = 0; t < tokens; t++)
                {
                    for (var r = 0; r < rows; r++)
                    {
                        var expected = FloatTiles.Scalar(pa + (r * k), pb + (t * k), k, TinyBlasOrder.Lanes(width));
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(c[(t * ldc) + r]));
                    }
                    Assert.True(float.IsNaN(c[(t * ldc) + rows]), "the gap after the rows was written");
                }
            }
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(70)]
    [InlineData(5)]
    public void Batches_converting_halves_in_the_tiles_equal_tinyblas_on_widened_rows(int infinityRow)
    {
        // 72 rows of 1040 halves (a block of 64 rows sliced, then 8), 17 tokens (two sixes and a five), subnormal
        // halves included; with an infinity (in the short block, or in the sliced one) its block must go the widened
        // way and still give ggml's result, the second time too, when the checks kept from the first decide.
        const int rows = 72, n = 1040, tokens = 17;
        var infinity = infinityRow >= 0;
        var rng = new Random(infinity ? 21 : 20);
        var weights = RandomHalves(rng, rows * n, maxExponent: 16);
        if (infinity)
        {
            weights[(infinityRow * n) + 33] = 0xFC00;
        }
        var x = RandomHalves(rng, tokens * n, maxExponent: 17).Select(Fp16.ToFloat).ToArray();
        var scaled = new float[x.Length];
        const int stride = rows + 3;
        var output = new float[tokens * stride];
        var checks = new byte[rows / 4];
        fixed (ushort* w = weights)
        fixed (float* px = x, ps = scaled)
        {
            F16ScaledDot.Scale(px, ps, x.Length);
            foreach (var (width, call) in Widths.SelectMany(w => new[] { (w, 0), (w, 1) }))
            {
                if (call == 0)
                {
                    Array.Clear(checks);
                }
                Array.Fill(output, float.NaN);
                FloatMatrix.MultiplyHalves(MemoryMarshal.AsBytes(weights.AsSpan()), n * 2, rows, px, ps, n, tokens, n, output, stride, width, checks);
                for (var r = 0; r < rows; r++)
                {
                    var wide = weights.AsSpan(r * n, n).ToArray().Select(Fp16.ToFloat).ToArray();
                    fixed (float* pw = wide)
                    {
                        for (var t = 0; t < tokens; t++)
                        {
                            var expected = FloatTiles.Scalar(pw, px + (t * n), n, TinyBlasOrder.Lanes(width));
                            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(output[(t * stride) + r]));
                            Assert.Equal(r == infinityRow, !float.IsFinite(expected));
                        }
                    }
                }
                Assert.True(float.IsNaN(output[rows]), "the gap after the rows was written");
                if (width == KernelWidth.Vector512)
                {
                    // The sliced block's four-row groups are marked finite, or all not finite where the infinity is.
                    Assert.Equal(infinityRow is >= 0 and < 64 ? 2 : 1, checks[0]);
                }
            }
        }
    }

    /// <summary>Checks every width against the scalar twin, bit for bit; returns the twin's result.</summary>
    static float AssertMatchesSpecification(ushort[] w, float[] x, int n)
    {
        var scaled = new float[n];
        fixed (ushort* pw = w)
        fixed (float* px = x, ps = scaled)
        {
            F16ScaledDot.Scale(px, ps, n);
            float result = 0;
            foreach (var width in Widths)
            {
                var expected = FloatVecDot.Scalar<F16Row, F32Row>(pw, px, n, doubleTail: true, FloatDotOrder.Lanes(width));
                var actual = F16ScaledDot.Dot(pw, px, ps, n, doubleTail: true, width);
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(actual));
                result = expected;
            }
            return result;
        }
    }

    static ushort[] RandomHalves(Random rng, int n, int maxExponent)
    {
        var halves = new ushort[n];
        for (var i = 0; i < n; i++)
        {
            var sign = rng.Next(2) << 15;
            var exponent = rng.Next(maxExponent + 1) << 10;
            halves[i] = (ushort)(sign | exponent | rng.Next(1024));
        }
        return halves;
    }
}
