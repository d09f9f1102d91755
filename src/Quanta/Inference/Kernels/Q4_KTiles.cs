using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q4_K × Q8_K for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="KQuantDot.AffineDot"/>'s
/// (ggml's AVX2) order: per super-block the eight int32 lanes Σⱼ scaleⱼ·(four products) from <c>maddubs</c> and a
/// scaled <c>madd</c> (one <c>vpdpwssd</c> with VNNI), <c>acc = fma(d_w·d_a, sums, acc)</c>, the mins' four lanes
/// <c>fma(−d_a·dmin_w, Σ min·bsums, accm)</c>; folded at the end. Register tiles of one row × four tokens: a
/// super-block's nibbles and scales are unpacked once into registers for four tokens, whose activations stay in
/// L1 while the rows stream past; leftover tokens (and generation's single token) take ggml's one-row loop.
/// </summary>
internal readonly unsafe struct Q4_KTiles : IRowTileKernel
{
    const int BlockBytes = 144;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        TokenTiles.Multiply<Q4_KTiles>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);

    /// <summary>
    /// ggml's <c>utmp</c> shuffle of the twelve packed bytes (what <c>KScales.UnpackScaleMin</c> gives one at a time):
    /// the eight 6-bit scales as int16 in both 128-bit halves, and the eight 6-bit mins as int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> Scales(byte* block, out Vector128<short> mins)
    {
        var packed = (uint*)(block + 4);
        var (u0, u1, u2) = (packed[0], packed[1], packed[2]);
        var bytes = Vector128.Create(
            u0 & 0x3F3F3F3F,
            (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4),
            u1 & 0x3F3F3F3F,
            ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4)).AsByte();
        var wide = Avx2.ConvertToVector256Int16(bytes);
        mins = wide.GetUpper();
        var scales = wide.GetLower();
        return Vector256.Create(scales, scales);
    }

    /// <summary>The four lanes of the mins: <c>Σ min·(bsums[2j] + bsums[2j+1])</c> as float, ggml's <c>prod</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> MinSums(Vector128<short> mins, byte* activationBlock)
    {
        var bsums = (short*)(activationBlock + Q8_KActivations.SumsOffset);
        var pairSums = Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8));
        return Sse2.ConvertToVector128Single(Sse2.MultiplyAddAdjacent(mins, pairSums));
    }

    /// <summary>One row · one token: ggml's AVX2 loop, with the scale broadcasts by <c>pshufb</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Row1(byte* w, int blocks, byte* a)
    {
        var acc = Vector256<float>.Zero;
        var accMins = Vector128<float>.Zero;
        var nibble = Vector256.Create((byte)0xF);
        var step = Vector256.Create((short)0x0202).AsByte();
        for (var b = 0; b < blocks; b++, w += BlockBytes, a += Q8_KActivations.BlockBytes)
        {
            var da = *(float*)a;
            var scales = Scales(w, out var mins).AsByte();
            accMins = Fma.MultiplyAdd(Vector128.Create(-da * Fp16.ToFloat(*(ushort*)(w + 2))), MinSums(mins, a), accMins);
            var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
            var shuffle = Vector256.Create((short)0x0100).AsByte();
            var sums = Vector256<int>.Zero;
            for (var k = 0; k < 4; k++)
            {
                var q = Vector256.Load(w + 16 + (32 * k));
                var low = Avx2.Shuffle(scales, shuffle).AsInt16();
                shuffle += step;
                var high = Avx2.Shuffle(scales, shuffle).AsInt16();
                shuffle += step;
                sums = TileSums.AddScaledPairs(sums, Avx2.MultiplyAddAdjacent(q & nibble, Vector256.Load(q8 + (64 * k))), low);
                sums = TileSums.AddScaledPairs(sums, Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(q, 4), Vector256.Load(q8 + (64 * k) + 32)), high);
            }
            acc = Fma.MultiplyAdd(Vector256.Create(Fp16.ToFloat(*(ushort*)w) * da), Avx.ConvertToVector256Single(sums), acc);
        }
        return TileSums.Fold(acc) + TileSums.Fold(accMins);
    }

    /// <summary>One row · four tokens with every accumulator in registers; results to <c>y[t·stride]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row4(byte* w, int blocks, byte* a, int activationRowBytes, float* y, int outputStride)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var mins0 = Vector128<float>.Zero;
        var mins1 = Vector128<float>.Zero;
        var mins2 = Vector128<float>.Zero;
        var mins3 = Vector128<float>.Zero;
        var nibble = Vector256.Create((byte)0xF);
        var step = Vector256.Create((short)0x0202).AsByte();
        var a0 = a;
        var a1 = a + activationRowBytes;
        var a2 = a1 + activationRowBytes;
        var a3 = a2 + activationRowBytes;
        for (var b = 0; b < blocks; b++, w += BlockBytes)
        {
            var offset = b * Q8_KActivations.BlockBytes;
            var b0 = a0 + offset;
            var b1 = a1 + offset;
            var b2 = a2 + offset;
            var b3 = a3 + offset;
            var scales = Scales(w, out var mins).AsByte();
            var dw = Fp16.ToFloat(*(ushort*)w);
            var dmin = Fp16.ToFloat(*(ushort*)(w + 2));
            var q0 = (sbyte*)(b0 + Q8_KActivations.QuantsOffset);
            var q1 = (sbyte*)(b1 + Q8_KActivations.QuantsOffset);
            var q2 = (sbyte*)(b2 + Q8_KActivations.QuantsOffset);
            var q3 = (sbyte*)(b3 + Q8_KActivations.QuantsOffset);
            var shuffle = Vector256.Create((short)0x0100).AsByte();
            var s0 = Vector256<int>.Zero;
            var s1 = Vector256<int>.Zero;
            var s2 = Vector256<int>.Zero;
            var s3 = Vector256<int>.Zero;
            for (var k = 0; k < 256; k += 64)
            {
                var q = Vector256.Load(w + 16 + (k / 2));
                var low = q & nibble;
                var high = Vector256.ShiftRightLogical(q, 4);
                var scaleLow = Avx2.Shuffle(scales, shuffle).AsInt16();
                shuffle += step;
                var scaleHigh = Avx2.Shuffle(scales, shuffle).AsInt16();
                shuffle += step;
                s0 = TileSums.AddScaledPairs(s0, Avx2.MultiplyAddAdjacent(low, Vector256.Load(q0 + k)), scaleLow);
                s1 = TileSums.AddScaledPairs(s1, Avx2.MultiplyAddAdjacent(low, Vector256.Load(q1 + k)), scaleLow);
                s2 = TileSums.AddScaledPairs(s2, Avx2.MultiplyAddAdjacent(low, Vector256.Load(q2 + k)), scaleLow);
                s3 = TileSums.AddScaledPairs(s3, Avx2.MultiplyAddAdjacent(low, Vector256.Load(q3 + k)), scaleLow);
                s0 = TileSums.AddScaledPairs(s0, Avx2.MultiplyAddAdjacent(high, Vector256.Load(q0 + k + 32)), scaleHigh);
                s1 = TileSums.AddScaledPairs(s1, Avx2.MultiplyAddAdjacent(high, Vector256.Load(q1 + k + 32)), scaleHigh);
                s2 = TileSums.AddScaledPairs(s2, Avx2.MultiplyAddAdjacent(high, Vector256.Load(q2 + k + 32)), scaleHigh);
                s3 = TileSums.AddScaledPairs(s3, Avx2.MultiplyAddAdjacent(high, Vector256.Load(q3 + k + 32)), scaleHigh);
            }
            var da0 = *(float*)b0;
            var da1 = *(float*)b1;
            var da2 = *(float*)b2;
            var da3 = *(float*)b3;
            acc0 = Fma.MultiplyAdd(Vector256.Create(dw * da0), Avx.ConvertToVector256Single(s0), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(dw * da1), Avx.ConvertToVector256Single(s1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(dw * da2), Avx.ConvertToVector256Single(s2), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(dw * da3), Avx.ConvertToVector256Single(s3), acc3);
            mins0 = Fma.MultiplyAdd(Vector128.Create(-da0 * dmin), MinSums(mins, b0), mins0);
            mins1 = Fma.MultiplyAdd(Vector128.Create(-da1 * dmin), MinSums(mins, b1), mins1);
            mins2 = Fma.MultiplyAdd(Vector128.Create(-da2 * dmin), MinSums(mins, b2), mins2);
            mins3 = Fma.MultiplyAdd(Vector128.Create(-da3 * dmin), MinSums(mins, b3), mins3);
        }
        y[0] = TileSums.Fold(acc0) + TileSums.Fold(mins0);
        y[outputStride] = TileSums.Fold(acc1) + TileSums.Fold(mins1);
        y[2L * outputStride] = TileSums.Fold(acc2) + TileSums.Fold(mins2);
        y[3L * outputStride] = TileSums.Fold(acc3) + TileSums.Fold(mins3);
    }
}
