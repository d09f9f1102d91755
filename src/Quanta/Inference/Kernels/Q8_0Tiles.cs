using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q8_0 × Q8_0 for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="Q8_0Dot"/>'s order: per
/// block the eight exact int32 sums of four products, <c>acc = fma(d_w·d_a, sum, acc)</c>, folded at the end.
/// Tiles of <see cref="RowGroup"/> rows × up to <see cref="TokenGroup"/> tokens: each weight block is prepared once
/// for the tokens of a group and each activation block once for the rows. With AVX-VNNI a block product is one
/// <c>vpdpbusd</c> on the weights offset to unsigned (w + 128) started from −128·Σa, which leaves Σ w·a; without it,
/// ggml's <c>maddubs(|w|, sign(a, w))</c> + <c>madd</c>.
/// llama.cpp on an AVX-512 machine runs a Q8_0 batch through tinyBLAS's <c>tinyBLAS_Q0_AVX::gemm4xN</c>: 256-bit
/// registers there too (<c>_mm256_dpbusd_epi32</c>, 4 × 4 tiles because AVX-512 gives it 32 registers), the same
/// eight lanes and fold. .NET has no 512-bit <c>vpdpbusd</c>; a 512-bit <c>maddubs</c> tile with two tokens per
/// register measured no faster than these 256-bit VNNI tiles on Zen 5, so there is one tile at both vector widths.
/// </summary>
internal static unsafe class Q8_0Tiles
{
    const int BlockBytes = 34;
    const int RowGroup = 4;
    const int TokenGroup = 32;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        fixed (byte* w = weights, a = activations)
        fixed (float* y = output)
        {
            var r0 = 0;
            if (AvxVnni.IsSupported)
            {
                // 4 × 4 tiles held in registers over the whole row, as tinyBLAS does; the edges below.
                for (; r0 + 4 <= rows; r0 += 4)
                {
                    var t0 = 0;
                    for (; t0 + 4 <= tokens; t0 += 4)
                    {
                        Tile4x4(w + ((long)r0 * rowBytes), rowBytes, a + ((long)t0 * activationRowBytes), activationRowBytes, n / 32, y + ((long)t0 * outputStride) + r0, outputStride);
                    }
                }
                // The tokens the 4 × 4 tiles leave (generation's single token): one row at a time, as ggml's
                // matrix-vector product reads them, in one sequential stream.
                for (var t = tokens - (tokens % 4); t < tokens; t++)
                {
                    var at = a + ((long)t * activationRowBytes);
                    var yt = y + ((long)t * outputStride);
                    for (var r = 0; r < r0; r++)
                    {
                        yt[r] = Row1(w + ((long)r * rowBytes), at, n / 32);
                    }
                }
            }
            if (r0 < rows)
            {
                Groups(w + ((long)r0 * rowBytes), rowBytes, rows - r0, a, activationRowBytes, tokens, n, y + r0, outputStride);
            }
        }
    }

    /// <summary>Row groups × token groups with the accumulators in memory: any shape, and CPUs without VNNI.</summary>
    static void Groups(byte* w, int rowBytes, int rows, byte* a, int activationRowBytes, int tokens, int n, float* y, int outputStride)
    {
        var blocks = n / 32;
        var acc = stackalloc Vector256<float>[RowGroup * TokenGroup];
        var prepared = stackalloc Vector256<sbyte>[RowGroup];
        var magnitudes = stackalloc Vector256<byte>[RowGroup];
        var scales = stackalloc float[RowGroup];
        for (var r0 = 0; r0 < rows; r0 += RowGroup)
        {
            var rn = Math.Min(RowGroup, rows - r0);
            for (var t0 = 0; t0 < tokens; t0 += TokenGroup)
            {
                var tn = Math.Min(TokenGroup, tokens - t0);
                for (var i = 0; i < RowGroup * TokenGroup; i++)
                {
                    acc[i] = Vector256<float>.Zero;
                }
                for (var b = 0; b < blocks; b++)
                {
                    for (var r = 0; r < rn; r++)
                    {
                        var block = w + ((long)(r0 + r) * rowBytes) + (b * BlockBytes);
                        var q = Vector256.Load((sbyte*)(block + 2));
                        scales[r] = Fp16.ToFloat(*(ushort*)block);
                        if (AvxVnni.IsSupported)
                        {
                            prepared[r] = q ^ Vector256.Create(unchecked((sbyte)0x80));
                        }
                        else
                        {
                            prepared[r] = q;
                            magnitudes[r] = Avx2.Abs(q);
                        }
                    }
                    for (var t = 0; t < tn; t++)
                    {
                        var block = a + ((long)(t0 + t) * activationRowBytes) + (b * BlockBytes);
                        var q = Vector256.Load((sbyte*)(block + 2));
                        var da = Fp16.ToFloat(*(ushort*)block);
                        var tokenAcc = acc + t;
                        if (AvxVnni.IsSupported)
                        {
                            // −128·Σa per lane, so that Σ (w + 128)·a lands on Σ w·a.
                            var offset = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)0x80), q);
                            for (var r = 0; r < rn; r++)
                            {
                                var sums = AvxVnni.MultiplyWideningAndAdd(offset, prepared[r].AsByte(), q);
                                tokenAcc[r * TokenGroup] = Fma.MultiplyAdd(Vector256.Create(scales[r] * da), Avx.ConvertToVector256Single(sums), tokenAcc[r * TokenGroup]);
                            }
                        }
                        else
                        {
                            for (var r = 0; r < rn; r++)
                            {
                                var pairs = Avx2.MultiplyAddAdjacent(magnitudes[r], Avx2.Sign(q, prepared[r]));
                                var sums = Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
                                tokenAcc[r * TokenGroup] = Fma.MultiplyAdd(Vector256.Create(scales[r] * da), Avx.ConvertToVector256Single(sums), tokenAcc[r * TokenGroup]);
                            }
                        }
                    }
                }
                for (var r = 0; r < rn; r++)
                {
                    for (var t = 0; t < tn; t++)
                    {
                        y[((long)(t0 + t) * outputStride) + r0 + r] = TileSums.Fold(acc[(r * TokenGroup) + t]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row · one token (AVX-VNNI): ggml's <c>mul_sum_i8_pairs_float</c>, <c>vpdpbusd(|w|, sign(a, w))</c>, exact
    /// because activations are never −128 (<see cref="Q8_0Activations"/> rounds into −127..127).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Row1(byte* w, byte* a, int blocks)
    {
        var acc = Vector256<float>.Zero;
        for (var offset = 0; offset < blocks * BlockBytes; offset += BlockBytes)
        {
            var q = Vector256.Load((sbyte*)(w + offset + 2));
            var x = Vector256.Load((sbyte*)(a + offset + 2));
            var sums = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Abs(q), Avx2.Sign(x, q));
            acc = Fma.MultiplyAdd(Vector256.Create(Fp16.ToFloat(*(ushort*)(w + offset)) * Fp16.ToFloat(*(ushort*)(a + offset))), Avx.ConvertToVector256Single(sums), acc);
        }
        return TileSums.Fold(acc);
    }

    /// <summary>
    /// Four rows × four tokens over the whole row with the sixteen accumulators in registers: each weight block is
    /// loaded once for four tokens and each activation block once for four rows (AVX-VNNI only). Per product four
    /// instructions (vpdpbusd, convert, lane broadcast of the scale, FMA), the scales multiplied four at a time as
    /// tinyBLAS's <c>gemm4xN</c> does: about a third faster than a scalar multiply and broadcast per product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4(byte* w, int rowBytes, byte* a, int activationRowBytes, int blocks, float* y, int outputStride)
    {
        var c00 = Vector256<float>.Zero;
        var c01 = Vector256<float>.Zero;
        var c02 = Vector256<float>.Zero;
        var c03 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero;
        var c11 = Vector256<float>.Zero;
        var c12 = Vector256<float>.Zero;
        var c13 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero;
        var c21 = Vector256<float>.Zero;
        var c22 = Vector256<float>.Zero;
        var c23 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero;
        var c31 = Vector256<float>.Zero;
        var c32 = Vector256<float>.Zero;
        var c33 = Vector256<float>.Zero;
        var bias = Vector256.Create((byte)0x80);
        var flip = Vector256.Create(unchecked((sbyte)0x80));
        for (var b = 0; b < blocks; b++)
        {
            var offset = b * BlockBytes;
            var wb0 = w + ((long)0 * rowBytes) + offset;
            var w0 = (Vector256.Load((sbyte*)(wb0 + 2)) ^ flip).AsByte();
            var wb1 = w + ((long)1 * rowBytes) + offset;
            var w1 = (Vector256.Load((sbyte*)(wb1 + 2)) ^ flip).AsByte();
            var wb2 = w + ((long)2 * rowBytes) + offset;
            var w2 = (Vector256.Load((sbyte*)(wb2 + 2)) ^ flip).AsByte();
            var wb3 = w + ((long)3 * rowBytes) + offset;
            var w3 = (Vector256.Load((sbyte*)(wb3 + 2)) ^ flip).AsByte();
            // The four rows' scales in each 128-bit half: one multiply gives a token's four products d_w·d_a (each
            // the same float product as the scalar one), and vpermilps hands each row its product in all lanes.
            var rowScales = Vector128.Create(Fp16.ToFloat(*(ushort*)wb0), Fp16.ToFloat(*(ushort*)wb1), Fp16.ToFloat(*(ushort*)wb2), Fp16.ToFloat(*(ushort*)wb3));
            var d = Vector256.Create(rowScales, rowScales);
            var ab0 = a + ((long)0 * activationRowBytes) + offset;
            var q0 = Vector256.Load((sbyte*)(ab0 + 2));
            var p0 = d * Vector256.Create(Fp16.ToFloat(*(ushort*)ab0));
            var o0 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q0);
            c00 = Fma.MultiplyAdd(Avx.Permute(p0, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o0, w0, q0)), c00);
            c10 = Fma.MultiplyAdd(Avx.Permute(p0, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o0, w1, q0)), c10);
            c20 = Fma.MultiplyAdd(Avx.Permute(p0, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o0, w2, q0)), c20);
            c30 = Fma.MultiplyAdd(Avx.Permute(p0, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o0, w3, q0)), c30);
            var ab1 = a + ((long)1 * activationRowBytes) + offset;
            var q1 = Vector256.Load((sbyte*)(ab1 + 2));
            var p1 = d * Vector256.Create(Fp16.ToFloat(*(ushort*)ab1));
            var o1 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q1);
            c01 = Fma.MultiplyAdd(Avx.Permute(p1, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o1, w0, q1)), c01);
            c11 = Fma.MultiplyAdd(Avx.Permute(p1, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o1, w1, q1)), c11);
            c21 = Fma.MultiplyAdd(Avx.Permute(p1, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o1, w2, q1)), c21);
            c31 = Fma.MultiplyAdd(Avx.Permute(p1, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o1, w3, q1)), c31);
            var ab2 = a + ((long)2 * activationRowBytes) + offset;
            var q2 = Vector256.Load((sbyte*)(ab2 + 2));
            var p2 = d * Vector256.Create(Fp16.ToFloat(*(ushort*)ab2));
            var o2 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q2);
            c02 = Fma.MultiplyAdd(Avx.Permute(p2, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o2, w0, q2)), c02);
            c12 = Fma.MultiplyAdd(Avx.Permute(p2, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o2, w1, q2)), c12);
            c22 = Fma.MultiplyAdd(Avx.Permute(p2, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o2, w2, q2)), c22);
            c32 = Fma.MultiplyAdd(Avx.Permute(p2, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o2, w3, q2)), c32);
            var ab3 = a + ((long)3 * activationRowBytes) + offset;
            var q3 = Vector256.Load((sbyte*)(ab3 + 2));
            var p3 = d * Vector256.Create(Fp16.ToFloat(*(ushort*)ab3));
            var o3 = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q3);
            c03 = Fma.MultiplyAdd(Avx.Permute(p3, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o3, w0, q3)), c03);
            c13 = Fma.MultiplyAdd(Avx.Permute(p3, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o3, w1, q3)), c13);
            c23 = Fma.MultiplyAdd(Avx.Permute(p3, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o3, w2, q3)), c23);
            c33 = Fma.MultiplyAdd(Avx.Permute(p3, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(o3, w3, q3)), c33);
        }
        y[(0 * (long)outputStride) + 0] = TileSums.Fold(c00);
        y[(1 * (long)outputStride) + 0] = TileSums.Fold(c01);
        y[(2 * (long)outputStride) + 0] = TileSums.Fold(c02);
        y[(3 * (long)outputStride) + 0] = TileSums.Fold(c03);
        y[(0 * (long)outputStride) + 1] = TileSums.Fold(c10);
        y[(1 * (long)outputStride) + 1] = TileSums.Fold(c11);
        y[(2 * (long)outputStride) + 1] = TileSums.Fold(c12);
        y[(3 * (long)outputStride) + 1] = TileSums.Fold(c13);
        y[(0 * (long)outputStride) + 2] = TileSums.Fold(c20);
        y[(1 * (long)outputStride) + 2] = TileSums.Fold(c21);
        y[(2 * (long)outputStride) + 2] = TileSums.Fold(c22);
        y[(3 * (long)outputStride) + 2] = TileSums.Fold(c23);
        y[(0 * (long)outputStride) + 3] = TileSums.Fold(c30);
        y[(1 * (long)outputStride) + 3] = TileSums.Fold(c31);
        y[(2 * (long)outputStride) + 3] = TileSums.Fold(c32);
        y[(3 * (long)outputStride) + 3] = TileSums.Fold(c33);
    }
}
