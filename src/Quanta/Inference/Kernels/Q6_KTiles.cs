using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q6_K × Q8_K for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="Q6_KDot"/>'s (ggml's AVX2)
/// order: per 32-element group the quants 0..63 times the activations by <c>maddubs</c>, less 32·(the activations'
/// pair sums), scaled per 16-element half by <c>madd</c> (one <c>vpdpwssd</c> with VNNI) into eight int32 lanes;
/// <c>acc = fma(d_a·d_w, sums, acc)</c> per super-block, folded at the end. Register tiles of one row × four
/// tokens: each half super-block's quants and scales are unpacked once into registers for four tokens; leftover
/// tokens (and generation's single token) take ggml's one-row loop.
/// </summary>
internal readonly unsafe struct Q6_KTiles : IRowTileKernel
{
    const int BlockBytes = 210;

    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        TokenTiles.Multiply<Q6_KTiles>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);

    /// <summary>
    /// The four 32-element groups of one half super-block, quants 0..63 in ggml's <c>dequantize_row_q6_K</c> order
    /// (the −32 is taken off the activations' side).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Quants(byte* block, int half, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3)
    {
        var nibble = Vector256.Create((byte)0xF);
        var two = Vector256.Create((byte)3);
        var low = Vector256.Load(block + (64 * half));
        var low2 = Vector256.Load(block + (64 * half) + 32);
        var high = Vector256.Load(block + 128 + (32 * half));
        q0 = (low & nibble) | Vector256.ShiftLeft(high & two, 4);
        q1 = (low2 & nibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 2) & two, 4);
        q2 = Vector256.ShiftRightLogical(low, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 4) & two, 4);
        q3 = Vector256.ShiftRightLogical(low2, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 6) & two, 4);
    }

    /// <summary>One row · one token: ggml's AVX2 loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Row1(byte* w, int blocks, byte* a)
    {
        var acc = Vector256<float>.Zero;
        var bias = Vector256.Create((byte)32);
        var quants = stackalloc Vector256<byte>[4];
        for (var b = 0; b < blocks; b++, w += BlockBytes, a += Q8_KActivations.BlockBytes)
        {
            var scales = Vector128.Load((sbyte*)(w + 192));
            var shuffle = TileSums.FirstSubBlockPair;
            var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
            var sums = Vector256<int>.Zero;
            for (var g = 0; g < 8; g++)
            {
                if ((g & 3) == 0)
                {
                    Quants(w, g >> 2, out quants[0], out quants[1], out quants[2], out quants[3]);
                }
                var scale = TileSums.SubBlockPairScales(scales, ref shuffle);
                var x = Vector256.Load(q8 + (32 * g));
                sums = TileSums.AddScaledPairs(sums, Avx2.MultiplyAddAdjacent(quants[g & 3], x) - Avx2.MultiplyAddAdjacent(bias, x), scale);
            }
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * Fp16.ToFloat(*(ushort*)(w + 208))), Avx.ConvertToVector256Single(sums), acc);
        }
        return TileSums.Fold(acc);
    }

    /// <summary>
    /// One row · four tokens with every accumulator in registers; results to <c>y[t·stride]</c>. A half
    /// super-block's quants are unpacked once for the four tokens.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row4(byte* w, int blocks, byte* a, int activationRowBytes, float* y, int outputStride)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var bias = Vector256.Create((byte)32);
        var quants = stackalloc Vector256<byte>[4];
        for (var b = 0; b < blocks; b++, w += BlockBytes)
        {
            var block = a + (b * Q8_KActivations.BlockBytes);
            var p0 = (sbyte*)(block + Q8_KActivations.QuantsOffset);
            var p1 = p0 + activationRowBytes;
            var p2 = p1 + activationRowBytes;
            var p3 = p2 + activationRowBytes;
            var scales = Vector128.Load((sbyte*)(w + 192));
            var shuffle = TileSums.FirstSubBlockPair;
            var s0 = Vector256<int>.Zero;
            var s1 = Vector256<int>.Zero;
            var s2 = Vector256<int>.Zero;
            var s3 = Vector256<int>.Zero;
            for (var g = 0; g < 8; g++)
            {
                if ((g & 3) == 0)
                {
                    Quants(w, g >> 2, out quants[0], out quants[1], out quants[2], out quants[3]);
                }
                var q = quants[g & 3];
                var scale = TileSums.SubBlockPairScales(scales, ref shuffle);
                var o = 32 * g;
                var x0 = Vector256.Load(p0 + o);
                var x1 = Vector256.Load(p1 + o);
                var x2 = Vector256.Load(p2 + o);
                var x3 = Vector256.Load(p3 + o);
                s0 = TileSums.AddScaledPairs(s0, Avx2.MultiplyAddAdjacent(q, x0) - Avx2.MultiplyAddAdjacent(bias, x0), scale);
                s1 = TileSums.AddScaledPairs(s1, Avx2.MultiplyAddAdjacent(q, x1) - Avx2.MultiplyAddAdjacent(bias, x1), scale);
                s2 = TileSums.AddScaledPairs(s2, Avx2.MultiplyAddAdjacent(q, x2) - Avx2.MultiplyAddAdjacent(bias, x2), scale);
                s3 = TileSums.AddScaledPairs(s3, Avx2.MultiplyAddAdjacent(q, x3) - Avx2.MultiplyAddAdjacent(bias, x3), scale);
            }
            var dw = Fp16.ToFloat(*(ushort*)(w + 208));
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
