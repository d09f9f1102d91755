using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// Q3_K's register tiles (one row × four tokens, the leftover tokens by ggml's one-row loop) against the scalar
/// <c>ggml_vec_dot_q3_K_q8_K</c> twin, bit for bit, over every bit pattern a block can hold: random bytes cover the
/// sixteen 6-bit scales at both ends (−32, 31), and the −4 levels whose <c>hmask</c> bit is clear; the extreme block
/// (every level −4, every scale −32, every activation −128) checks the exact value. <c>.ci/run</c> re-runs this class at every SIMD width.
/// </summary>
public sealed class Q3_KTileTests
{
    const int Columns = 1024;
    const int BlockBytes = 110;

    static readonly Q3_KDot Dot = new();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 5)]
    [InlineData(5, 7)]
    [InlineData(13, 3)]
    public void Tiles_equal_the_scalar_dot_for_odd_token_and_row_counts(int tokens, int rows)
    {
        var rng = new Random(tokens * 100 + rows);
        var rowBytes = Columns / 256 * BlockBytes;
        var weights = new byte[rows * rowBytes];
        rng.NextBytes(weights);
        for (var o = 0; o < weights.Length; o += BlockBytes)
        {
            MemoryMarshal.Write(weights.AsSpan(o + 108), Fp16.FromFloat((float)(0.001 + 0.01 * rng.NextDouble())));
        }
        var activationRowBytes = Columns / 256 * Q8_KActivations.BlockBytes;
        var activations = new byte[tokens * activationRowBytes];
        var x = new float[Columns];
        for (var t = 0; t < tokens; t++)
        {
            for (var i = 0; i < Columns; i++)
            {
                x[i] = (float)((rng.NextDouble() * 2 - 1) * (i % 61 == 0 ? 40 : 1));
            }
            Q8_KActivations.Quantize(x, activations.AsSpan(t * activationRowBytes, activationRowBytes), KernelWidth.Scalar);
        }

        var stride = rows + 2;
        var output = Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, stride);
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                var expected = Dot.Dot(weights.AsSpan(r * rowBytes, rowBytes), activations.AsSpan(t * activationRowBytes, activationRowBytes), Columns, KernelWidth.Scalar);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(output[(t * stride) + r]));
            }
            Assert.True(float.IsNaN(output[(t * stride) + rows]), $"the gap after token {t}'s rows was written");
        }
    }

    [Fact]
    public void Extreme_levels_scales_and_activations_give_the_exact_product()
    {
        // Every weight −4 (hmask bits clear, low bits 0) with every scale −32 (packed 0), d_w = 0.25; every
        // activation −128 with d_a = 0.5: per block 256·(−4)(−128)(−32)·0.125 = −524288, exact in float.
        const int tokens = 5;
        const int rows = 3;
        var rowBytes = Columns / 256 * BlockBytes;
        var weights = new byte[rows * rowBytes];
        for (var o = 0; o < weights.Length; o += BlockBytes)
        {
            MemoryMarshal.Write(weights.AsSpan(o + 108), Fp16.FromFloat(0.25f));
        }
        var activationRowBytes = Columns / 256 * Q8_KActivations.BlockBytes;
        var activations = new byte[tokens * activationRowBytes];
        for (var o = 0; o < activations.Length; o += Q8_KActivations.BlockBytes)
        {
            MemoryMarshal.Write(activations.AsSpan(o), 0.5f);
            activations.AsSpan(o + Q8_KActivations.QuantsOffset, 256).Fill(0x80);
        }
        var output = Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, rows);
        Assert.All(output, y => Assert.Equal(-524288f * (Columns / 256), y));
    }

    /// <summary>The tiles where the CPU has them (AVX2 + FMA), else the row dot the matrix product falls back to.</summary>
    static float[] Multiply(byte[] weights, int rowBytes, int rows, byte[] activations, int activationRowBytes, int tokens, int stride)
    {
        var output = Enumerable.Repeat(float.NaN, tokens * stride).ToArray();
        var width = KernelWidths.Current;
        Assert.Equal(width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported, Dot.CanMultiply(width));
        if (Dot.CanMultiply(width))
        {
            Dot.Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, Columns, output, stride);
            return output;
        }
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                output[(t * stride) + r] = Dot.Dot(weights.AsSpan(r * rowBytes, rowBytes), activations.AsSpan(t * activationRowBytes, activationRowBytes), Columns, width);
            }
        }
        return output;
    }
}
