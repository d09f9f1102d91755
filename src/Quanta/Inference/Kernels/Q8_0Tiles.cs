using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q8_0 × Q8_0 for a block of rows and tokens (<see cref="IMatrixDot"/>), in <see cref="Q8_0Dot"/>'s order: per
/// block the eight exact int32 sums of four products, <c>acc = fma(d_w·d_a, sum, acc)</c>, folded at the end.
/// With AVX-VNNI, 4 × 4 register tiles over the whole row (<see cref="Tile4x4"/>), as llama.cpp's tinyBLAS
/// <c>gemm4xN</c> runs a Q8_0 batch on an AVX-512 machine (256-bit <c>vpdpbusd</c> there too). The batch's
/// activations are prepared once (<see cref="Prepare"/>: quants offset to unsigned, a + 128, and the F16 scales
/// widened to float) and each group of four weight rows once for all tokens (scales widened, and −128·Σw per lane),
/// so that a block product is one <c>vpdpbusd</c> started from −128·Σw, which leaves Σ w·a exactly. The rest —
/// rows past the last group of four, and CPUs without VNNI — goes through <see cref="Groups"/>: ggml's
/// <c>maddubs(|w|, sign(a, w))</c> + <c>madd</c>, or the same VNNI sums with the offset on the activations.
/// .NET 10 has no 512-bit <c>vpdpbusd</c>; 512-bit tiles (two tokens per register, the 256-bit sums joined) measured
/// no faster on Zen 5, so there is one tile at both vector widths.
/// </summary>
internal static unsafe class Q8_0Tiles
{
    const int BlockBytes = 34;
    const int RowGroup = 4;
    const int TokenGroup = 32;

    /// <summary>A prepared activation block: its 32 quants as unsigned bytes (a + 128); the float scales follow all blocks.</summary>
    const int PreparedBlockBytes = 32;

    /// <summary>Prepared quants start on a cache line, so that no 32-byte load of them straddles two.</summary>
    const int PreparedAlignment = 64;

    [ThreadStatic]
    static byte[]? s_prepared;

    [ThreadStatic]
    static float[]? s_rowScales;

    [ThreadStatic]
    static Vector256<int>[]? s_rowOffsets;

    /// <summary>
    /// The bytes <see cref="Prepare"/> needs for a batch of <paramref name="tokens"/> rows of <paramref name="n"/>
    /// elements, or 0 where <see cref="Multiply(ReadOnlySpan{byte}, int, int, ReadOnlySpan{byte}, int, ReadOnlySpan{byte}, int, int, Span{float}, int)"/>
    /// reads no prepared activations (no VNNI, or fewer tokens than a tile).
    /// </summary>
    public static int PreparedBytes(int tokens, int n) =>
        AvxVnni.IsSupported && tokens >= 4 ? sizeof(int) + PreparedAlignment + (tokens * (n / 32) * (PreparedBlockBytes + sizeof(float))) : 0;

    /// <summary>
    /// The batch's activations as the 4 × 4 tiles read them, once for every row: quants flipped to unsigned (32 bytes a
    /// block, aligned) and scales as floats, token by token. The first four bytes give the offset of the quants, so a
    /// buffer the GC moves between this and the multiply still reads right.
    /// </summary>
    public static void Prepare(ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<byte> prepared)
    {
        var blocks = n / 32;
        var bytes = PreparedBytes(tokens, n);
        if (bytes == 0 || prepared.Length < bytes || activations.Length < ((long)(tokens - 1) * activationRowBytes) + (blocks * BlockBytes))
        {
            throw new ArgumentException($"{prepared.Length} bytes cannot hold {tokens} prepared rows of {n} activations");
        }
        fixed (byte* a = activations, p = prepared)
        {
            var skip = sizeof(int) + (int)((PreparedAlignment - (((nint)p + sizeof(int)) % PreparedAlignment)) % PreparedAlignment);
            *(int*)p = skip;
            var quants = p + skip;
            var scales = (float*)(quants + ((long)tokens * blocks * PreparedBlockBytes));
            var flip = Vector256.Create((byte)0x80);
            for (var t = 0; t < tokens; t++)
            {
                var row = a + ((long)t * activationRowBytes);
                var block = (long)t * blocks;
                for (var b = 0; b < blocks; b++)
                {
                    (Vector256.Load(row + (b * BlockBytes) + 2) ^ flip).Store(quants + ((block + b) * PreparedBlockBytes));
                    scales[block + b] = Fp16.ToFloat(*(ushort*)(row + (b * BlockBytes)));
                }
            }
        }
    }

    /// <summary>As the prepared overload, preparing the activations here (into this thread's buffer).</summary>
    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var bytes = PreparedBytes(tokens, n);
        var prepared = s_prepared;
        if (bytes > 0)
        {
            if (prepared is null || prepared.Length < bytes)
            {
                s_prepared = prepared = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
            }
            Prepare(activations, activationRowBytes, tokens, n, prepared);
        }
        Multiply(weights, rowBytes, rows, activations, activationRowBytes, prepared.AsSpan(0, bytes), tokens, n, output, outputStride);
    }

    /// <summary>
    /// <c>output[t·outputStride + r]</c> for every row and token, the 4 × 4 tiles reading <paramref name="prepared"/>
    /// (<see cref="Prepare"/> of these activations; empty where <see cref="PreparedBytes"/> is 0).
    /// </summary>
    public static void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, ReadOnlySpan<byte> prepared, int tokens, int n, Span<float> output, int outputStride)
    {
        var blocks = n / 32;
        var preparedBytes = PreparedBytes(tokens, n);
        if (prepared.Length < preparedBytes)
        {
            throw new ArgumentException($"{prepared.Length} prepared bytes, {preparedBytes} needed for {tokens} rows of {n} activations", nameof(prepared));
        }
        fixed (byte* w = weights, a = activations, p = prepared)
        fixed (float* y = output)
        {
            var r0 = 0;
            if (AvxVnni.IsSupported)
            {
                var tiledRows = rows - (rows % RowGroup);
                if (preparedBytes > 0)
                {
                    var quants = p + *(int*)p;
                    var scales = (float*)(quants + ((long)tokens * blocks * PreparedBlockBytes));
                    var rowScales = s_rowScales;
                    var rowOffsets = s_rowOffsets;
                    if (rowScales is null || rowScales.Length < blocks * RowGroup)
                    {
                        s_rowScales = rowScales = new float[blocks * RowGroup];
                        s_rowOffsets = rowOffsets = new Vector256<int>[blocks * RowGroup];
                    }
                    fixed (float* ws = rowScales)
                    fixed (Vector256<int>* wo = rowOffsets)
                    {
                        // 4 × 4 tiles held in registers over the whole row, as tinyBLAS does; the edges below.
                        for (; r0 < tiledRows; r0 += RowGroup)
                        {
                            var wr = w + ((long)r0 * rowBytes);
                            PrepareRows(wr, rowBytes, blocks, ws, wo);
                            for (var t0 = 0; t0 + 4 <= tokens; t0 += 4)
                            {
                                Tile4x4(wr, rowBytes, quants + ((long)t0 * blocks * PreparedBlockBytes), blocks * PreparedBlockBytes, scales + ((long)t0 * blocks), blocks, ws, wo, y + ((long)t0 * outputStride) + r0, outputStride);
                            }
                        }
                    }
                }
                r0 = tiledRows;
                // The tokens the 4 × 4 tiles leave (generation's single token): one row at a time, as ggml's
                // matrix-vector product reads them, in one sequential stream.
                for (var t = tokens - (tokens % 4); t < tokens; t++)
                {
                    var at = a + ((long)t * activationRowBytes);
                    var yt = y + ((long)t * outputStride);
                    for (var r = 0; r < r0; r++)
                    {
                        yt[r] = Row1(w + ((long)r * rowBytes), at, blocks);
                    }
                }
            }
            if (r0 < rows)
            {
                Groups(w + ((long)r0 * rowBytes), rowBytes, rows - r0, a, activationRowBytes, tokens, n, y + r0, outputStride);
            }
        }
    }

    /// <summary>
    /// A group of four rows as <see cref="Tile4x4"/> reads it, once for all tokens: per block the four rows' scales as
    /// floats (<c>scales[4b + r]</c>) and −128·Σw of each lane's four weights (<c>offsets[4b + r]</c>), from which
    /// <c>vpdpbusd</c> of the unsigned a + 128 with the signed weights lands on Σ w·a.
    /// </summary>
    static void PrepareRows(byte* w, int rowBytes, int blocks, float* scales, Vector256<int>* offsets)
    {
        var bias = Vector256.Create((byte)0x80);
        for (var b = 0; b < blocks; b++)
        {
            for (var r = 0; r < RowGroup; r++)
            {
                var block = w + ((long)r * rowBytes) + (b * BlockBytes);
                scales[(b * RowGroup) + r] = Fp16.ToFloat(*(ushort*)block);
                offsets[(b * RowGroup) + r] = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, Vector256.Load((sbyte*)(block + 2)));
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
    /// instructions — <c>vpdpbusd</c> from the row's offset (<see cref="PrepareRows"/>), convert, the lane broadcast of
    /// its scale product, FMA — and per token one multiply of its scale by the four rows' scales, as tinyBLAS's
    /// <c>gemm4xN</c> forms them. With the scales widened and the offsets taken once per row group rather than per
    /// token, about 12 % faster than with both in the loop (Zen 5), the results bit for bit the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4(byte* w, int rowBytes, byte* a, int activationRowBytes, float* activationScales, int blocks, float* rowScales, Vector256<int>* rowOffsets, float* y, int outputStride)
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
        var w1 = w + rowBytes;
        var w2 = w + (2L * rowBytes);
        var w3 = w + (3L * rowBytes);
        var a1 = a + activationRowBytes;
        var a2 = a + (2L * activationRowBytes);
        var a3 = a + (3L * activationRowBytes);
        for (var b = 0; b < blocks; b++)
        {
            var offset = (b * BlockBytes) + 2;
            var q0 = Vector256.Load((sbyte*)(w + offset));
            var q1 = Vector256.Load((sbyte*)(w1 + offset));
            var q2 = Vector256.Load((sbyte*)(w2 + offset));
            var q3 = Vector256.Load((sbyte*)(w3 + offset));
            var k = rowOffsets + (b * RowGroup);
            var k0 = k[0];
            var k1 = k[1];
            var k2 = k[2];
            var k3 = k[3];
            // The four rows' scales in each 128-bit half: one multiply gives a token's four products d_w·d_a (each
            // the same float product as the scalar one), and vpermilps hands each row its product in all lanes.
            var d = Avx.BroadcastVector128ToVector256(rowScales + (b * RowGroup));
            var at = b * PreparedBlockBytes;
            var x0 = Vector256.Load(a + at);
            var p0 = d * Vector256.Create(activationScales[b]);
            c00 = Fma.MultiplyAdd(Avx.Permute(p0, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k0, x0, q0)), c00);
            c10 = Fma.MultiplyAdd(Avx.Permute(p0, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k1, x0, q1)), c10);
            c20 = Fma.MultiplyAdd(Avx.Permute(p0, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k2, x0, q2)), c20);
            c30 = Fma.MultiplyAdd(Avx.Permute(p0, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k3, x0, q3)), c30);
            var x1 = Vector256.Load(a1 + at);
            var p1 = d * Vector256.Create(activationScales[blocks + b]);
            c01 = Fma.MultiplyAdd(Avx.Permute(p1, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k0, x1, q0)), c01);
            c11 = Fma.MultiplyAdd(Avx.Permute(p1, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k1, x1, q1)), c11);
            c21 = Fma.MultiplyAdd(Avx.Permute(p1, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k2, x1, q2)), c21);
            c31 = Fma.MultiplyAdd(Avx.Permute(p1, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k3, x1, q3)), c31);
            var x2 = Vector256.Load(a2 + at);
            var p2 = d * Vector256.Create(activationScales[(2 * blocks) + b]);
            c02 = Fma.MultiplyAdd(Avx.Permute(p2, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k0, x2, q0)), c02);
            c12 = Fma.MultiplyAdd(Avx.Permute(p2, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k1, x2, q1)), c12);
            c22 = Fma.MultiplyAdd(Avx.Permute(p2, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k2, x2, q2)), c22);
            c32 = Fma.MultiplyAdd(Avx.Permute(p2, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k3, x2, q3)), c32);
            var x3 = Vector256.Load(a3 + at);
            var p3 = d * Vector256.Create(activationScales[(3 * blocks) + b]);
            c03 = Fma.MultiplyAdd(Avx.Permute(p3, 0x00), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k0, x3, q0)), c03);
            c13 = Fma.MultiplyAdd(Avx.Permute(p3, 0x55), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k1, x3, q1)), c13);
            c23 = Fma.MultiplyAdd(Avx.Permute(p3, 0xAA), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k2, x3, q2)), c23);
            c33 = Fma.MultiplyAdd(Avx.Permute(p3, 0xFF), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(k3, x3, q3)), c33);
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
