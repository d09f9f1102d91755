using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q6_K × Q8_K for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="Q6_KDot"/>'s (ggml's AVX2)
/// order: per 32-element group the quants 0..63 times the activations by <c>maddubs</c>, less 32·(the activations'
/// pair sums), scaled per 16-element half by <c>madd</c> (one <c>vpdpwssd</c> with VNNI) into eight int32 lanes;
/// <c>acc = fma(d_a·d_w, sums, acc)</c> per super-block, folded at the end. A super-block of
/// <see cref="RowGroup"/> rows is unpacked once for a group of tokens, and the activations' 32·pair sums once per
/// token for the rows.
/// </summary>
internal static unsafe class Q6_KTiles
{
    const int BlockBytes = 210;
    const int RowGroup = 4;
    const int TokenGroup = 16;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var blocks = n / 256;
        var acc = stackalloc Vector256<float>[RowGroup * TokenGroup];
        var quants = stackalloc Vector256<byte>[RowGroup * 8];
        var scales = stackalloc Vector256<short>[RowGroup * 8];
        var offsets = stackalloc Vector256<short>[8];
        var d = stackalloc float[RowGroup];
        var nibble = Vector256.Create((byte)0xF);
        var two = Vector256.Create((byte)3);
        var bias = Vector256.Create((byte)32);
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
                            d[r] = Fp16.ToFloat(*(ushort*)(block + 208));
                            var sc = (sbyte*)(block + 192);
                            for (var g = 0; g < 8; g++)
                            {
                                scales[(r * 8) + g] = Vector256.Create(Vector128.Create((short)sc[2 * g]), Vector128.Create((short)sc[(2 * g) + 1]));
                            }
                            // ggml's dequantize_row_q6_K order, without the −32 (it is taken off the activations' side).
                            for (var half = 0; half < 2; half++)
                            {
                                var low = Vector256.Load(block + (64 * half));
                                var low2 = Vector256.Load(block + (64 * half) + 32);
                                var high = Vector256.Load(block + 128 + (32 * half));
                                var q = quants + (r * 8) + (4 * half);
                                q[0] = (low & nibble) | Vector256.ShiftLeft(high & two, 4);
                                q[1] = (low2 & nibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 2) & two, 4);
                                q[2] = Vector256.ShiftRightLogical(low, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 4) & two, 4);
                                q[3] = Vector256.ShiftRightLogical(low2, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 6) & two, 4);
                            }
                        }
                        for (var t = 0; t < tn; t++)
                        {
                            var block = a + ((long)(t0 + t) * activationRowBytes) + (b * Q8_KActivations.BlockBytes);
                            var da = *(float*)block;
                            var q8 = (sbyte*)(block + Q8_KActivations.QuantsOffset);
                            for (var g = 0; g < 8; g++)
                            {
                                offsets[g] = Avx2.MultiplyAddAdjacent(bias, Vector256.Load(q8 + (32 * g)));
                            }
                            for (var r = 0; r < rn; r++)
                            {
                                var sums = Vector256<int>.Zero;
                                for (var g = 0; g < 8; g++)
                                {
                                    var products = Avx2.MultiplyAddAdjacent(quants[(r * 8) + g], Vector256.Load(q8 + (32 * g))) - offsets[g];
                                    sums = TileSums.AddScaledPairs(sums, products, scales[(r * 8) + g]);
                                }
                                var i = (r * TokenGroup) + t;
                                acc[i] = Fma.MultiplyAdd(Vector256.Create(da * d[r]), Avx.ConvertToVector256Single(sums), acc[i]);
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
