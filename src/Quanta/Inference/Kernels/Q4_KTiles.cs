using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q4_K × Q8_K for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="KQuantDot.AffineDot"/>'s
/// (ggml's AVX2) order: per super-block the eight int32 lanes Σⱼ scaleⱼ·(four products) from <c>maddubs</c> and a
/// scaled <c>madd</c> (one <c>vpdpwssd</c> with VNNI), <c>acc = fma(d_w·d_a, sums, acc)</c>, the mins' four lanes
/// <c>fma(−d_a·dmin_w, Σ min·bsums, accm)</c>; folded at the end. A super-block of <see cref="RowGroup"/> rows is
/// unpacked once (nibbles to bytes, 6-bit scales and mins to int16) for a group of tokens.
/// </summary>
internal static unsafe class Q4_KTiles
{
    const int BlockBytes = 144;
    const int RowGroup = 4;
    const int TokenGroup = 16;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var blocks = n / 256;
        var acc = stackalloc Vector256<float>[RowGroup * TokenGroup];
        var accMins = stackalloc Vector128<float>[RowGroup * TokenGroup];
        var quants = stackalloc Vector256<byte>[RowGroup * 8];
        var scales = stackalloc Vector256<short>[RowGroup * 8];
        var mins = stackalloc Vector128<short>[RowGroup];
        var d = stackalloc float[RowGroup];
        var dmin = stackalloc float[RowGroup];
        var unpacked = stackalloc uint[4];
        var nibble = Vector256.Create((byte)0xF);
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
                        accMins[i] = Vector128<float>.Zero;
                    }
                    for (var b = 0; b < blocks; b++)
                    {
                        for (var r = 0; r < rn; r++)
                        {
                            var block = w + ((long)(r0 + r) * rowBytes) + (b * BlockBytes);
                            d[r] = Fp16.ToFloat(*(ushort*)block);
                            dmin[r] = Fp16.ToFloat(*(ushort*)(block + 2));
                            // ggml's utmp shuffle: the twelve packed bytes to eight 6-bit scales, then eight 6-bit mins
                            // (what KScales.UnpackScaleMin gives one at a time), in a few word operations.
                            var packed = (uint*)(block + 4);
                            var (u0, u1, u2) = (packed[0], packed[1], packed[2]);
                            unpacked[3] = ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4);
                            unpacked[2] = u1 & 0x3F3F3F3F;
                            unpacked[1] = (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4);
                            unpacked[0] = u0 & 0x3F3F3F3F;
                            var bytes = (byte*)unpacked;
                            for (var j = 0; j < 8; j++)
                            {
                                scales[(r * 8) + j] = Vector256.Create((short)bytes[j]);
                            }
                            mins[r] = Sse41.ConvertToVector128Int16(bytes + 8);
                            for (var k = 0; k < 4; k++)
                            {
                                var q = Vector256.Load(block + 16 + (32 * k));
                                quants[(r * 8) + (2 * k)] = q & nibble;
                                quants[(r * 8) + (2 * k) + 1] = Vector256.ShiftRightLogical(q, 4);
                            }
                        }
                        for (var t = 0; t < tn; t++)
                        {
                            var block = a + ((long)(t0 + t) * activationRowBytes) + (b * Q8_KActivations.BlockBytes);
                            var da = *(float*)block;
                            var q8 = (sbyte*)(block + Q8_KActivations.QuantsOffset);
                            // The sixteen bsums added in pairs: one int16 per 32-element sub-block.
                            var bsums = (short*)(block + Q8_KActivations.SumsOffset);
                            var pairSums = Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8));
                            for (var r = 0; r < rn; r++)
                            {
                                var sums = Vector256<int>.Zero;
                                for (var j = 0; j < 8; j++)
                                {
                                    var products = Avx2.MultiplyAddAdjacent(quants[(r * 8) + j], Vector256.Load(q8 + (32 * j)));
                                    sums = TileSums.AddScaledPairs(sums, products, scales[(r * 8) + j]);
                                }
                                var i = (r * TokenGroup) + t;
                                acc[i] = Fma.MultiplyAdd(Vector256.Create(d[r] * da), Avx.ConvertToVector256Single(sums), acc[i]);
                                var minProducts = Sse2.MultiplyAddAdjacent(mins[r], pairSums);
                                accMins[i] = Fma.MultiplyAdd(Vector128.Create(-da * dmin[r]), Sse2.ConvertToVector128Single(minProducts), accMins[i]);
                            }
                        }
                    }
                    for (var r = 0; r < rn; r++)
                    {
                        for (var t = 0; t < tn; t++)
                        {
                            var i = (r * TokenGroup) + t;
                            y[((long)(t0 + t) * outputStride) + r0 + r] = TileSums.Fold(acc[i]) + TileSums.Fold(accMins[i]);
                        }
                    }
                }
            }
        }
    }
}
