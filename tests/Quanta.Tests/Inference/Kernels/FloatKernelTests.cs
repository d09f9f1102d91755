using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// F32 and F16 weights in llama.cpp's float orders at every width: tinyBLAS (<see cref="TinyBlasOrder"/>) for a batch,
/// <c>ggml_vec_dot</c> (<see cref="FloatDotOrder"/>) for one token, each vector path bit for bit against its scalar
/// twin, the twins against the definition, and the orders themselves pinned by sums whose rounding tells them apart.
/// Widths the machine lacks are emulated by .NET with the same IEEE operations.
/// </summary>
public sealed unsafe class FloatKernelTests
{
    static readonly KernelWidth[] Widths = [KernelWidth.Scalar, KernelWidth.Vector256, KernelWidth.Vector512];

    [Fact]
    public void TinyBlas_sums_sixteen_lanes_with_avx512_and_eight_otherwise()
    {
        // x0 = 2^24, x8 = 1, x16 = −2^24, x24 = 1, y = 1. Eight lanes: lane 0 is ((2^24 + 1) − 2^24) + 1 = 1 (2^24 + 1
        // rounds to even). Sixteen: lane 0 is 2^24 − 2^24 = 0, lane 8 is 1 + 1 = 2, and the halving tree adds them: 2.
        var x = new float[32];
        (x[0], x[8], x[16], x[24]) = (16777216f, 1f, -16777216f, 1f);
        var y = Enumerable.Repeat(1f, 32).ToArray();
        fixed (float* px = x, py = y)
        {
            foreach (var width in Widths)
            {
                Assert.Equal(width == KernelWidth.Vector512 ? 2f : 1f, FloatTiles.Dot(px, py, 32, width));
            }
        }
    }

    [Fact]
    public void Vec_dot_folds_its_accumulators_as_ggml_reduce_does()
    {
        // n = 64, y = 1, x0 = 2^24, x1 = 1, x3 = 1: after the accumulators are folded, lanes 0, 1 and 3 hold them.
        // AVX2 (GGML_F32x8_REDUCE): t = low + high, then (t0 + t1) + (t2 + t3) = (2^24 + 1) + (0 + 1): 2^24 + 1 rounds
        // to even, 2^24, and so does the next add. AVX-512 (_mm512_reduce_add_ps): the halving tree adds lanes 0 + 2
        // and 1 + 3 first, (2^24 + 0) + (1 + 1) = 2^24 + 2.
        var x = new float[64];
        (x[0], x[1], x[3]) = (16777216f, 1f, 1f);
        var y = Enumerable.Repeat(1f, 64).ToArray();
        fixed (float* px = x, py = y)
        {
            foreach (var width in Widths)
            {
                Assert.Equal(width == KernelWidth.Vector512 ? 16777218f : 16777216f, FloatVecDot.Dot<F32Row, F32Row>(px, py, 64, doubleTail: false, width));
            }
        }
    }

    [Theory]
    [InlineData(false, 1024)]
    [InlineData(false, 1000)]
    [InlineData(true, 1024)]
    [InlineData(true, 1000)]
    public void Vec_dot_vector_paths_equal_their_scalar_twins_and_the_definition(bool half, int n)
    {
        var (weights, rowBytes) = Weights(half, rows: 3, n, seed: 1);
        var activations = Activations(half, tokens: 3, n, seed: 2, out var activationRowBytes);
        fixed (byte* w = weights, a = activations)
        {
            for (var r = 0; r < 3; r++)
            {
                var row = w + (r * rowBytes);
                var act = a + (r * activationRowBytes);
                foreach (var width in Widths)
                {
                    var lanes = FloatDotOrder.Lanes(width);
                    float expected, actual;
                    if (half)
                    {
                        expected = FloatVecDot.Scalar<F16Row, F16Row>(row, act, n, true, lanes);
                        actual = FloatVecDot.Dot<F16Row, F16Row>(row, act, n, true, width);
                    }
                    else
                    {
                        expected = FloatVecDot.Scalar<F32Row, F32Row>(row, act, n, false, lanes);
                        actual = FloatVecDot.Dot<F32Row, F32Row>(row, act, n, false, width);
                    }
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
                    var (exact, magnitude) = Definition(half, row, act, n);
                    Assert.True(Math.Abs(actual - exact) <= 1e-6 * magnitude, $"{width}: {actual} vs {exact}");
                }
            }
        }
    }

    [Theory]
    [InlineData(false, 72)]
    [InlineData(true, 72)]
    [InlineData(false, 70)]
    [InlineData(true, 70)]
    public void Batches_take_tinyblas_and_single_tokens_vec_dot_at_every_width(bool half, int rows)
    {
        // 72 rows: a block of 64 and one of 8; 11 tokens: two groups of four and 3. 70 rows: not in fours, which
        // tinyBLAS refuses, so the batch too goes through vec_dot.
        const int n = 1024, tokens = 11;
        var stride = rows + 2;
        var (weights, rowBytes) = Weights(half, rows, n, seed: 3);
        var activations = Activations(half, tokens, n, seed: 4, out var activationRowBytes);
        fixed (byte* w = weights, a = activations)
        {
            foreach (var width in Widths)
            {
                foreach (var batch in new[] { 1, tokens })
                {
                    var output = Enumerable.Repeat(float.NaN, batch * stride).ToArray();
                    if (half)
                    {
                        FloatMatrix.Multiply<F16Row, F16Row>(weights, rowBytes, rows, activations, activationRowBytes, batch, n, output, stride, true, width);
                    }
                    else
                    {
                        FloatMatrix.Multiply<F32Row, F32Row>(weights, rowBytes, rows, activations, activationRowBytes, batch, n, output, stride, false, width);
                    }
                    for (var t = 0; t < batch; t++)
                    {
                        for (var r = 0; r < rows; r++)
                        {
                            var row = w + (r * rowBytes);
                            var act = a + (t * activationRowBytes);
                            float expected;
                            if (batch > 1 && rows % 4 == 0)
                            {
                                fixed (float* x = Widen(half, row, n), z = Widen(half, act, n))
                                {
                                    expected = FloatTiles.Scalar(x, z, n, TinyBlasOrder.Lanes(width));
                                }
                            }
                            else
                            {
                                expected = half
                                    ? FloatVecDot.Scalar<F16Row, F16Row>(row, act, n, true, FloatDotOrder.Lanes(width))
                                    : FloatVecDot.Scalar<F32Row, F32Row>(row, act, n, false, FloatDotOrder.Lanes(width));
                            }
                            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(output[(t * stride) + r]));
                        }
                        Assert.True(float.IsNaN(output[(t * stride) + rows]), "the gap after the rows was written");
                    }
                }
            }
        }
    }

    static float[] Widen(bool half, byte* row, int n)
    {
        var widened = new float[n];
        for (var i = 0; i < n; i++)
        {
            widened[i] = half ? Fp16.ToFloat(((ushort*)row)[i]) : ((float*)row)[i];
        }
        return widened;
    }

    static (byte[] Bytes, int RowBytes) Weights(bool half, int rows, int n, int seed)
    {
        var rng = new Random(seed);
        var rowBytes = n * (half ? 2 : 4);
        var bytes = new byte[rows * rowBytes];
        for (var i = 0; i < rows * n; i++)
        {
            var v = (float)((rng.NextDouble() * 2) - 1) * (i % 97 == 0 ? 2f : 0.05f);
            if (half)
            {
                MemoryMarshal.Write(bytes.AsSpan(2 * i), Fp16.FromFloat(v));
            }
            else
            {
                MemoryMarshal.Write(bytes.AsSpan(4 * i), v);
            }
        }
        return (bytes, rowBytes);
    }

    static byte[] Activations(bool half, int tokens, int n, int seed, out int rowBytes)
    {
        var rng = new Random(seed);
        IVecDot dot = half ? new F16Dot() : new F32Dot();
        rowBytes = dot.ActivationRowBytes(n);
        var bytes = new byte[tokens * rowBytes];
        var x = new float[n];
        for (var t = 0; t < tokens; t++)
        {
            for (var i = 0; i < n; i++)
            {
                x[i] = (float)((rng.NextDouble() + rng.NextDouble() - 1) * (i % 50 == 0 ? 30 : 1));
            }
            dot.QuantizeActivations(x, bytes.AsSpan(t * rowBytes, rowBytes), KernelWidth.Scalar);
        }
        return bytes;
    }

    static (double Exact, double Magnitude) Definition(bool half, byte* row, byte* act, int n)
    {
        double exact = 0, magnitude = 0;
        for (var i = 0; i < n; i++)
        {
            var w = half ? Fp16.ToFloat(((ushort*)row)[i]) : ((float*)row)[i];
            var v = half ? Fp16.ToFloat(((ushort*)act)[i]) : ((float*)act)[i];
            var p = (double)w * v;
            exact += p;
            magnitude += Math.Abs(p);
        }
        return (exact, magnitude);
    }
}
