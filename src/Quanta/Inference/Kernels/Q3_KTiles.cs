using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q3_K × Q8_K for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="Q3_KDot"/>'s (ggml's AVX2)
/// order: per 32-element group the two low bits times the activations by <c>maddubs</c>, less 4·(the activations'
/// pair products where the <c>hmask</c> bit is clear), scaled per 16-element half by <c>madd</c> (one
/// <c>vpdpwssd</c> with VNNI) into eight int32 lanes; <c>acc = fma(d_a·d_w, sums, acc)</c> per super-block, folded
/// at the end. Register tiles of one row × four tokens: each group's bits and scales are unpacked once into
/// registers for four tokens; leftover tokens (and a batch's odd token) take ggml's one-row loop.
/// </summary>
internal readonly unsafe struct Q3_KTiles : IRowTileKernel
{
    const int BlockBytes = 110;
    const int QsOffset = 32;
    const int ScalesOffset = 96;
    const int DOffset = 108;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        TokenTiles.Multiply<Q3_KTiles>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);

    /// <summary>
    /// ggml's <c>utmp</c> shuffle of the twelve packed bytes (what <c>KScales.UnpackQ3</c> gives one at a time): the
    /// sixteen 6-bit scales less 32, as signed bytes in sub-block order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<sbyte> Scales(byte* block)
    {
        var packed = (uint*)(block + ScalesOffset);
        var (a0, a1, a2) = (packed[0], packed[1], packed[2]);
        var bytes = Vector128.Create(
            (a0 & 0x0F0F0F0F) | ((a2 & 0x03030303) << 4),
            (a1 & 0x0F0F0F0F) | (((a2 >> 2) & 0x03030303) << 4),
            ((a0 >> 4) & 0x0F0F0F0F) | (((a2 >> 4) & 0x03030303) << 4),
            ((a1 >> 4) & 0x0F0F0F0F) | (((a2 >> 6) & 0x03030303) << 4)).AsSByte();
        return bytes - Vector128.Create((sbyte)32);
    }

    /// <summary>
    /// A group's exact pair sums q3·q8 as int16: <c>maddubs(low bits, q8) − maddubs(4·(1 − hbit), q8)</c>, ggml's two
    /// unsigned-by-signed products (each within int16 for any q8 byte, −128 included).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> PairSums(Vector256<byte> low, Vector256<byte> missing, Vector256<sbyte> q8) =>
        Avx2.MultiplyAddAdjacent(low, q8) - Avx2.MultiplyAddAdjacent(missing, q8);

    /// <summary>One row · one token: ggml's AVX2 loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Row1(byte* w, int blocks, byte* a)
    {
        var acc = Vector256<float>.Zero;
        var three = Vector256.Create((byte)3);
        var one = Vector256.Create((byte)1);
        for (var b = 0; b < blocks; b++, w += BlockBytes, a += Q8_KActivations.BlockBytes)
        {
            var scales = Scales(w);
            var shuffle = TileSums.FirstSubBlockPair;
            var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
            var high = Vector256.Load(w);
            var sums = Vector256<int>.Zero;
            for (var half = 0; half < 2; half++)
            {
                var bits = Vector256.Load(w + QsOffset + (32 * half));
                for (var j = 0; j < 4; j++, q8 += 32)
                {
                    var missing = Vector256.ShiftLeft(Vector256.AndNot(one, high), 2);
                    var scale = TileSums.SubBlockPairScales(scales, ref shuffle);
                    sums = TileSums.AddScaledPairs(sums, PairSums(bits & three, missing, Vector256.Load(q8)), scale);
                    bits = Vector256.ShiftRightLogical(bits, 2);
                    high = Vector256.ShiftRightLogical(high, 1);
                }
            }
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * Fp16.ToFloat(*(ushort*)(w + DOffset))), Avx.ConvertToVector256Single(sums), acc);
        }
        return TileSums.Fold(acc);
    }

    /// <summary>
    /// One row · four tokens with every accumulator in registers; results to <c>y[t·stride]</c>. A group's bits and
    /// scales are unpacked once for the four tokens.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row4(byte* w, int blocks, byte* a, int activationRowBytes, float* y, int outputStride)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var three = Vector256.Create((byte)3);
        var one = Vector256.Create((byte)1);
        for (var b = 0; b < blocks; b++, w += BlockBytes)
        {
            var block = a + (b * Q8_KActivations.BlockBytes);
            var p0 = (sbyte*)(block + Q8_KActivations.QuantsOffset);
            var p1 = p0 + activationRowBytes;
            var p2 = p1 + activationRowBytes;
            var p3 = p2 + activationRowBytes;
            var scales = Scales(w);
            var shuffle = TileSums.FirstSubBlockPair;
            var high = Vector256.Load(w);
            var s0 = Vector256<int>.Zero;
            var s1 = Vector256<int>.Zero;
            var s2 = Vector256<int>.Zero;
            var s3 = Vector256<int>.Zero;
            for (var half = 0; half < 2; half++)
            {
                var bits = Vector256.Load(w + QsOffset + (32 * half));
                for (var j = 0; j < 4; j++)
                {
                    var low = bits & three;
                    var missing = Vector256.ShiftLeft(Vector256.AndNot(one, high), 2);
                    var scale = TileSums.SubBlockPairScales(scales, ref shuffle);
                    var o = (128 * half) + (32 * j);
                    s0 = TileSums.AddScaledPairs(s0, PairSums(low, missing, Vector256.Load(p0 + o)), scale);
                    s1 = TileSums.AddScaledPairs(s1, PairSums(low, missing, Vector256.Load(p1 + o)), scale);
                    s2 = TileSums.AddScaledPairs(s2, PairSums(low, missing, Vector256.Load(p2 + o)), scale);
                    s3 = TileSums.AddScaledPairs(s3, PairSums(low, missing, Vector256.Load(p3 + o)), scale);
                    bits = Vector256.ShiftRightLogical(bits, 2);
                    high = Vector256.ShiftRightLogical(high, 1);
                }
            }
            var dw = Fp16.ToFloat(*(ushort*)(w + DOffset));
            acc0 = Fma.MultiplyAdd(Vector256.Create(*(float*)block * dw), Avx.ConvertToVector256Single(s0), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(*(float*)(block + activationRowBytes) * dw), Avx.ConvertToVector256Single(s1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(*(float*)(block + (2 * activationRowBytes)) * dw), Avx.ConvertToVector256Single(s2), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(*(float*)(block + (3 * activationRowBytes)) * dw), Avx.ConvertToVector256Single(s3), acc3);
        }
        y[0] = TileSums.Fold(acc0);
        y[outputStride] = TileSums.Fold(acc1);
        y[2L * outputStride] = TileSums.Fold(acc2);
        y[3L * outputStride] = TileSums.Fold(acc3);
    }
}
