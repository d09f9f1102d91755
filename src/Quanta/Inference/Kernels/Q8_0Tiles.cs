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
/// </summary>
internal static unsafe class Q8_0Tiles
{
    const int BlockBytes = 34;
    const int RowGroup = 4;
    const int TokenGroup = 32;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var blocks = n / 32;
        var acc = stackalloc Vector256<float>[RowGroup * TokenGroup];
        var prepared = stackalloc Vector256<sbyte>[RowGroup];
        var magnitudes = stackalloc Vector256<byte>[RowGroup];
        var scales = stackalloc float[RowGroup];
        fixed (byte* w = weights, a = activations)
        fixed (float* y = output)
        {
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
    }
}
