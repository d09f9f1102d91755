using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Inference.Kernels;

/// <summary>
/// llamafile's <c>tinyBLAS</c> for float rows: every (row, token) result is one register of
/// <see cref="TinyBlasOrder.Lanes"/> fused multiply-add sums over the whole row, then <see cref="TinyBlasOrder.Sum"/>.
/// As tinyBLAS does, 4 rows × 6 tokens (with 32 vector registers, AVX-512) or 4 × 4 are computed together with
/// their accumulators in registers, so each loaded vector feeds four to six products; the callers pass a block of rows small enough to stay in cache while every
/// group of four tokens sweeps it. The tiles only choose which results are computed together, never the order in
/// which one is summed, so each equals <see cref="Scalar"/>.
/// </summary>
internal static unsafe class FloatTiles
{
    /// <summary>
    /// <c>c[t·ldc + r] = tinyBLAS(a row r, b row t)</c> for <paramref name="rows"/> rows of <paramref name="a"/> (stride
    /// <paramref name="lda"/> floats) and <paramref name="tokens"/> rows of <paramref name="b"/> (stride
    /// <paramref name="ldb"/>), <paramref name="k"/> elements each, a multiple of <see cref="TinyBlasOrder.Lanes"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* a, long lda, int rows, float* b, long ldb, int tokens, int k, float* c, long ldc, KernelWidth width)
    {
        if (width == KernelWidth.Scalar)
        {
            for (var t = 0; t < tokens; t++)
            {
                for (var r = 0; r < rows; r++)
                {
                    c[(t * ldc) + r] = Scalar(a + (r * lda), b + (t * ldb), k, TinyBlasOrder.Lanes(width));
                }
            }
            return;
        }
        if (width == KernelWidth.Vector512 && rows % 4 == 0 && Sliced512(a, lda, rows, b, ldb, tokens, k, c, ldc))
        {
            return;
        }
        var t0 = 0;
        if (width == KernelWidth.Vector512)
        {
            // tinyBLAS's own tiles with 32 vector registers: 4 rows × 6 tokens, 24 accumulators (ten loads per 24
            // multiply-adds rather than eight per 16), and as its BLOCK_SIZE<6> does, groups of 5 where the tokens do
            // not come in sixes (128 = 18 × 6 + 4 × 5), so that no token is left to the one-accumulator edge loop,
            // which waits on every multiply-add's latency.
            var groups = (tokens + 5) / 6;
            var sixes = tokens >= 5 * groups ? tokens - (5 * groups) : tokens / 6;
            for (var g = 0; g < sixes; g++, t0 += 6)
            {
                var bt = b + (t0 * ldb);
                var ct = c + (t0 * ldc);
                var r0 = 0;
                for (; r0 + 4 <= rows; r0 += 4)
                {
                    Tile512x6(a + (r0 * lda), lda, bt, ldb, k, ct + r0, ldc);
                }
                for (; r0 < rows; r0++)
                {
                    for (var t = 0; t < 6; t++)
                    {
                        ct[(t * ldc) + r0] = Dot(a + (r0 * lda), bt + (t * ldb), k, width);
                    }
                }
            }
            for (; t0 + 5 <= tokens && (tokens - t0) % 5 == 0; t0 += 5)
            {
                var bt = b + (t0 * ldb);
                var ct = c + (t0 * ldc);
                var r0 = 0;
                for (; r0 + 4 <= rows; r0 += 4)
                {
                    Tile512x5(a + (r0 * lda), lda, bt, ldb, k, ct + r0, ldc);
                }
                for (; r0 < rows; r0++)
                {
                    for (var t = 0; t < 5; t++)
                    {
                        ct[(t * ldc) + r0] = Dot(a + (r0 * lda), bt + (t * ldb), k, width);
                    }
                }
            }
        }
        for (; t0 + 4 <= tokens; t0 += 4)
        {
            var bt = b + (t0 * ldb);
            var ct = c + (t0 * ldc);
            var r0 = 0;
            for (; r0 + 4 <= rows; r0 += 4)
            {
                if (width == KernelWidth.Vector512)
                {
                    Tile512(a + (r0 * lda), lda, bt, ldb, k, ct + r0, ldc);
                }
                else
                {
                    Tile256(a + (r0 * lda), lda, bt, ldb, k, ct + r0, ldc);
                }
            }
            for (; r0 < rows; r0++)
            {
                for (var t = 0; t < 4; t++)
                {
                    ct[(t * ldc) + r0] = Dot(a + (r0 * lda), bt + (t * ldb), k, width);
                }
            }
        }
        for (; t0 < tokens; t0++)
        {
            for (var r = 0; r < rows; r++)
            {
                c[(t0 * ldc) + r] = Dot(a + (r * lda), b + (t0 * ldb), k, width);
            }
        }
    }

    /// <summary>Elements of a row multiplied by a group of tokens before the next group of four rows takes over.</summary>
    const int SliceLength = 512;

    /// <summary>
    /// Fewest row groups of four worth slicing for: with fewer (a block of 8 rows of 5,632, as <c>ffn_down</c>'s), a
    /// slice of activations is reused too few times to pay for saving the accumulators (measured slower).
    /// </summary>
    const int MinRowGroups = 4;

    /// <summary>24 zero accumulators, the starting sums of a tile's first slice.</summary>
    static readonly Vector512<float>* Zeros = (Vector512<float>*)NativeMemory.AlignedAlloc(24 * 64, 64);

    static FloatTiles() => new Span<Vector512<float>>(Zeros, 24).Clear();

    /// <summary>Most row groups of four that <see cref="Sliced512"/> keeps accumulators for (on the stack).</summary>
    const int MaxRowGroups = 16;

    /// <summary>The most rows <see cref="Sliced512"/> takes at once.</summary>
    public const int MaxSlicedRows = MaxRowGroups * 4;

    /// <summary>
    /// The 512-bit tiles with the row length cut into slices of <see cref="SliceLength"/>: a group of six (or five)
    /// tokens takes one slice of every group of four rows before the next slice, so its activations (6 × 2 KiB) stay
    /// in L1 while the rows stream past, instead of six whole rows (48 KiB at 2,048 elements: L1's size) being
    /// fetched again from L2 for every group of four rows. Each tile's accumulators wait in memory between slices and
    /// go on where they stopped, so every lane still adds its elements in order: the same sums as
    /// <see cref="Scalar"/>. False (nothing done) when the tokens do not split into sixes and fives or the rows are
    /// too many for the accumulators kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool Sliced512(float* a, long lda, int rows, float* b, long ldb, int tokens, int k, float* c, long ldc) =>
        Sliced512<F32Row>((byte*)a, lda * sizeof(float), rows, b, ldb, tokens, k, c, ldc);

    /// <summary>
    /// The sliced 512-bit tiles straight from F16 rows (<paramref name="lda"/> halves apart), converted as
    /// <see cref="F16ScaledDot"/> converts them, against activations already times 2^112 (<see cref="F16ScaledDot.Scale"/>):
    /// the same products and sums as widening the rows first, without the widened copy. The caller has checked that
    /// no half has the all-ones exponent. False (nothing done) where <see cref="Sliced512"/> would be.
    /// </summary>
    public static bool SlicedScaledHalves(ushort* a, long lda, int rows, float* scaled, long ldb, int tokens, int k, float* c, long ldc) =>
        rows % 4 == 0 && Sliced512<ScaledHalfRow>((byte*)a, lda * sizeof(ushort), rows, scaled, ldb, tokens, k, c, ldc);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool Sliced512<TA>(byte* a, long lda, int rows, float* b, long ldb, int tokens, int k, float* c, long ldc)
        where TA : IFloatRow
    {
        var groups = (tokens + 5) / 6;
        var rowGroups = rows / 4;
        if (tokens < 5 * groups || rowGroups < MinRowGroups || rowGroups > MaxRowGroups || k <= SliceLength)
        {
            return false;
        }
        var sixes = tokens - (5 * groups);
        var acc = stackalloc Vector512<float>[MaxRowGroups * 24];
        var t0 = 0;
        for (var g = 0; g < groups; g++)
        {
            var count = g < sixes ? 6 : 5;
            var bt = b + (t0 * ldb);
            for (var from = 0; from < k; from += SliceLength)
            {
                var to = Math.Min(k, from + SliceLength);
                for (var rg = 0; rg < rowGroups; rg++)
                {
                    if (count == 6)
                    {
                        Slice512x6<TA>(a + (rg * 4 * lda), lda, bt, ldb, from, to, acc + (rg * 24), fresh: from == 0);
                    }
                    else
                    {
                        Slice512x5<TA>(a + (rg * 4 * lda), lda, bt, ldb, from, to, acc + (rg * 24), fresh: from == 0);
                    }
                }
            }
            for (var rg = 0; rg < rowGroups; rg++)
            {
                StoreTokens(c + (t0 * ldc) + (rg * 4), ldc, acc + (rg * 24), count);
            }
            t0 += count;
        }
        return true;
    }

    /// <summary>The specification: <paramref name="lanes"/> fused multiply-add sums, then the halving tree.</summary>
    public static float Scalar(float* x, float* y, int k, int lanes)
    {
        Span<float> acc = stackalloc float[lanes];
        acc.Clear();
        for (var i = 0; i < k; i += lanes)
        {
            for (var l = 0; l < lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(x[i + l], y[i + l], acc[l]);
            }
        }
        return TinyBlasOrder.Sum(acc);
    }

    /// <summary>One result at a vector width (the tiles' edges).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* x, float* y, int k, KernelWidth width)
    {
        if (width == KernelWidth.Vector512)
        {
            var s = Vector512<float>.Zero;
            for (var i = 0; i < k; i += 16)
            {
                s = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), s);
            }
            return TinyBlasOrder.Sum(s);
        }
        if (width == KernelWidth.Vector256)
        {
            var s = Vector256<float>.Zero;
            for (var i = 0; i < k; i += 8)
            {
                s = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s);
            }
            return TinyBlasOrder.Sum(s);
        }
        return Scalar(x, y, k, TinyBlasOrder.Lanes(width));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile512(float* a, long lda, float* b, long ldb, int k, float* c, long ldc)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        float* a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda);
        float* b1 = b + ldb, b2 = b + (2 * ldb), b3 = b + (3 * ldb);
        for (var i = 0; i < k; i += 16)
        {
            var w0 = Vector512.Load(a + i);
            var w1 = Vector512.Load(a1 + i);
            var w2 = Vector512.Load(a2 + i);
            var w3 = Vector512.Load(a3 + i);
            var x = Vector512.Load(b + i);
            c00 = Vector512.FusedMultiplyAdd(w0, x, c00);
            c10 = Vector512.FusedMultiplyAdd(w1, x, c10);
            c20 = Vector512.FusedMultiplyAdd(w2, x, c20);
            c30 = Vector512.FusedMultiplyAdd(w3, x, c30);
            x = Vector512.Load(b1 + i);
            c01 = Vector512.FusedMultiplyAdd(w0, x, c01);
            c11 = Vector512.FusedMultiplyAdd(w1, x, c11);
            c21 = Vector512.FusedMultiplyAdd(w2, x, c21);
            c31 = Vector512.FusedMultiplyAdd(w3, x, c31);
            x = Vector512.Load(b2 + i);
            c02 = Vector512.FusedMultiplyAdd(w0, x, c02);
            c12 = Vector512.FusedMultiplyAdd(w1, x, c12);
            c22 = Vector512.FusedMultiplyAdd(w2, x, c22);
            c32 = Vector512.FusedMultiplyAdd(w3, x, c32);
            x = Vector512.Load(b3 + i);
            c03 = Vector512.FusedMultiplyAdd(w0, x, c03);
            c13 = Vector512.FusedMultiplyAdd(w1, x, c13);
            c23 = Vector512.FusedMultiplyAdd(w2, x, c23);
            c33 = Vector512.FusedMultiplyAdd(w3, x, c33);
        }
        Store(c, 0, c00, c10, c20, c30);
        Store(c + ldc, 0, c01, c11, c21, c31);
        Store(c + (2 * ldc), 0, c02, c12, c22, c32);
        Store(c + (3 * ldc), 0, c03, c13, c23, c33);
    }

    /// <summary>tinyBLAS's 4 rows × 6 tokens tile over the whole row: one slice from 0 to <paramref name="k"/>.</summary>
    static void Tile512x6(float* a, long lda, float* b, long ldb, int k, float* c, long ldc)
    {
        var acc = stackalloc Vector512<float>[24];
        Slice512x6<F32Row>((byte*)a, lda * sizeof(float), b, ldb, 0, k, acc, fresh: true);
        StoreTokens(c, ldc, acc, 6);
    }

    /// <summary>The 4 × 5 tile tinyBLAS uses beside the 4 × 6 ones when the tokens do not split into sixes.</summary>
    static void Tile512x5(float* a, long lda, float* b, long ldb, int k, float* c, long ldc)
    {
        var acc = stackalloc Vector512<float>[20];
        Slice512x5<F32Row>((byte*)a, lda * sizeof(float), b, ldb, 0, k, acc, fresh: true);
        StoreTokens(c, ldc, acc, 5);
    }

    /// <summary>Each of <paramref name="tokens"/> tokens' four row sums (accumulators in the slices' order) to its output row.</summary>
    static void StoreTokens(float* c, long ldc, Vector512<float>* acc, int tokens)
    {
        for (var t = 0; t < tokens; t++)
        {
            var sums = acc + (t * 4);
            Store(c + (t * ldc), 0, sums[0], sums[1], sums[2], sums[3]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Slice512x6<TA>(byte* a, long lda, float* b, long ldb, int from, int to, Vector512<float>* acc, bool fresh)
        where TA : IFloatRow
    {
        // A row's first slice starts its sums from zeros rather than from cleared memory.
        var start = fresh ? Zeros : acc;
        Vector512<float> c00 = start[0], c10 = start[1], c20 = start[2], c30 = start[3];
        Vector512<float> c01 = start[4], c11 = start[5], c21 = start[6], c31 = start[7];
        Vector512<float> c02 = start[8], c12 = start[9], c22 = start[10], c32 = start[11];
        Vector512<float> c03 = start[12], c13 = start[13], c23 = start[14], c33 = start[15];
        Vector512<float> c04 = start[16], c14 = start[17], c24 = start[18], c34 = start[19];
        Vector512<float> c05 = start[20], c15 = start[21], c25 = start[22], c35 = start[23];
        byte* a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda);
        float* b1 = b + ldb, b2 = b + (2 * ldb), b3 = b + (3 * ldb), b4 = b + (4 * ldb), b5 = b + (5 * ldb);
        for (var i = from; i < to; i += 16)
        {
            var w0 = TA.Load512(a, i);
            var w1 = TA.Load512(a1, i);
            var w2 = TA.Load512(a2, i);
            var w3 = TA.Load512(a3, i);
            var x = Vector512.Load(b + i);
            c00 = Vector512.FusedMultiplyAdd(w0, x, c00);
            c10 = Vector512.FusedMultiplyAdd(w1, x, c10);
            c20 = Vector512.FusedMultiplyAdd(w2, x, c20);
            c30 = Vector512.FusedMultiplyAdd(w3, x, c30);
            x = Vector512.Load(b1 + i);
            c01 = Vector512.FusedMultiplyAdd(w0, x, c01);
            c11 = Vector512.FusedMultiplyAdd(w1, x, c11);
            c21 = Vector512.FusedMultiplyAdd(w2, x, c21);
            c31 = Vector512.FusedMultiplyAdd(w3, x, c31);
            x = Vector512.Load(b2 + i);
            c02 = Vector512.FusedMultiplyAdd(w0, x, c02);
            c12 = Vector512.FusedMultiplyAdd(w1, x, c12);
            c22 = Vector512.FusedMultiplyAdd(w2, x, c22);
            c32 = Vector512.FusedMultiplyAdd(w3, x, c32);
            x = Vector512.Load(b3 + i);
            c03 = Vector512.FusedMultiplyAdd(w0, x, c03);
            c13 = Vector512.FusedMultiplyAdd(w1, x, c13);
            c23 = Vector512.FusedMultiplyAdd(w2, x, c23);
            c33 = Vector512.FusedMultiplyAdd(w3, x, c33);
            x = Vector512.Load(b4 + i);
            c04 = Vector512.FusedMultiplyAdd(w0, x, c04);
            c14 = Vector512.FusedMultiplyAdd(w1, x, c14);
            c24 = Vector512.FusedMultiplyAdd(w2, x, c24);
            c34 = Vector512.FusedMultiplyAdd(w3, x, c34);
            x = Vector512.Load(b5 + i);
            c05 = Vector512.FusedMultiplyAdd(w0, x, c05);
            c15 = Vector512.FusedMultiplyAdd(w1, x, c15);
            c25 = Vector512.FusedMultiplyAdd(w2, x, c25);
            c35 = Vector512.FusedMultiplyAdd(w3, x, c35);
        }
        acc[0] = c00;
        acc[1] = c10;
        acc[2] = c20;
        acc[3] = c30;
        acc[4] = c01;
        acc[5] = c11;
        acc[6] = c21;
        acc[7] = c31;
        acc[8] = c02;
        acc[9] = c12;
        acc[10] = c22;
        acc[11] = c32;
        acc[12] = c03;
        acc[13] = c13;
        acc[14] = c23;
        acc[15] = c33;
        acc[16] = c04;
        acc[17] = c14;
        acc[18] = c24;
        acc[19] = c34;
        acc[20] = c05;
        acc[21] = c15;
        acc[22] = c25;
        acc[23] = c35;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Slice512x5<TA>(byte* a, long lda, float* b, long ldb, int from, int to, Vector512<float>* acc, bool fresh)
        where TA : IFloatRow
    {
        // A row's first slice starts its sums from zeros rather than from cleared memory.
        var start = fresh ? Zeros : acc;
        Vector512<float> c00 = start[0], c10 = start[1], c20 = start[2], c30 = start[3];
        Vector512<float> c01 = start[4], c11 = start[5], c21 = start[6], c31 = start[7];
        Vector512<float> c02 = start[8], c12 = start[9], c22 = start[10], c32 = start[11];
        Vector512<float> c03 = start[12], c13 = start[13], c23 = start[14], c33 = start[15];
        Vector512<float> c04 = start[16], c14 = start[17], c24 = start[18], c34 = start[19];
        byte* a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda);
        float* b1 = b + ldb, b2 = b + (2 * ldb), b3 = b + (3 * ldb), b4 = b + (4 * ldb);
        for (var i = from; i < to; i += 16)
        {
            var w0 = TA.Load512(a, i);
            var w1 = TA.Load512(a1, i);
            var w2 = TA.Load512(a2, i);
            var w3 = TA.Load512(a3, i);
            var x = Vector512.Load(b + i);
            c00 = Vector512.FusedMultiplyAdd(w0, x, c00);
            c10 = Vector512.FusedMultiplyAdd(w1, x, c10);
            c20 = Vector512.FusedMultiplyAdd(w2, x, c20);
            c30 = Vector512.FusedMultiplyAdd(w3, x, c30);
            x = Vector512.Load(b1 + i);
            c01 = Vector512.FusedMultiplyAdd(w0, x, c01);
            c11 = Vector512.FusedMultiplyAdd(w1, x, c11);
            c21 = Vector512.FusedMultiplyAdd(w2, x, c21);
            c31 = Vector512.FusedMultiplyAdd(w3, x, c31);
            x = Vector512.Load(b2 + i);
            c02 = Vector512.FusedMultiplyAdd(w0, x, c02);
            c12 = Vector512.FusedMultiplyAdd(w1, x, c12);
            c22 = Vector512.FusedMultiplyAdd(w2, x, c22);
            c32 = Vector512.FusedMultiplyAdd(w3, x, c32);
            x = Vector512.Load(b3 + i);
            c03 = Vector512.FusedMultiplyAdd(w0, x, c03);
            c13 = Vector512.FusedMultiplyAdd(w1, x, c13);
            c23 = Vector512.FusedMultiplyAdd(w2, x, c23);
            c33 = Vector512.FusedMultiplyAdd(w3, x, c33);
            x = Vector512.Load(b4 + i);
            c04 = Vector512.FusedMultiplyAdd(w0, x, c04);
            c14 = Vector512.FusedMultiplyAdd(w1, x, c14);
            c24 = Vector512.FusedMultiplyAdd(w2, x, c24);
            c34 = Vector512.FusedMultiplyAdd(w3, x, c34);
        }
        acc[0] = c00;
        acc[1] = c10;
        acc[2] = c20;
        acc[3] = c30;
        acc[4] = c01;
        acc[5] = c11;
        acc[6] = c21;
        acc[7] = c31;
        acc[8] = c02;
        acc[9] = c12;
        acc[10] = c22;
        acc[11] = c32;
        acc[12] = c03;
        acc[13] = c13;
        acc[14] = c23;
        acc[15] = c33;
        acc[16] = c04;
        acc[17] = c14;
        acc[18] = c24;
        acc[19] = c34;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile256(float* a, long lda, float* b, long ldb, int k, float* c, long ldc)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        float* a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda);
        float* b1 = b + ldb, b2 = b + (2 * ldb), b3 = b + (3 * ldb);
        for (var i = 0; i < k; i += 8)
        {
            var w0 = Vector256.Load(a + i);
            var w1 = Vector256.Load(a1 + i);
            var w2 = Vector256.Load(a2 + i);
            var w3 = Vector256.Load(a3 + i);
            var x = Vector256.Load(b + i);
            c00 = Vector256.FusedMultiplyAdd(w0, x, c00);
            c10 = Vector256.FusedMultiplyAdd(w1, x, c10);
            c20 = Vector256.FusedMultiplyAdd(w2, x, c20);
            c30 = Vector256.FusedMultiplyAdd(w3, x, c30);
            x = Vector256.Load(b1 + i);
            c01 = Vector256.FusedMultiplyAdd(w0, x, c01);
            c11 = Vector256.FusedMultiplyAdd(w1, x, c11);
            c21 = Vector256.FusedMultiplyAdd(w2, x, c21);
            c31 = Vector256.FusedMultiplyAdd(w3, x, c31);
            x = Vector256.Load(b2 + i);
            c02 = Vector256.FusedMultiplyAdd(w0, x, c02);
            c12 = Vector256.FusedMultiplyAdd(w1, x, c12);
            c22 = Vector256.FusedMultiplyAdd(w2, x, c22);
            c32 = Vector256.FusedMultiplyAdd(w3, x, c32);
            x = Vector256.Load(b3 + i);
            c03 = Vector256.FusedMultiplyAdd(w0, x, c03);
            c13 = Vector256.FusedMultiplyAdd(w1, x, c13);
            c23 = Vector256.FusedMultiplyAdd(w2, x, c23);
            c33 = Vector256.FusedMultiplyAdd(w3, x, c33);
        }
        Store(c, 0, c00, c10, c20, c30);
        Store(c + ldc, 0, c01, c11, c21, c31);
        Store(c + (2 * ldc), 0, c02, c12, c22, c32);
        Store(c + (3 * ldc), 0, c03, c13, c23, c33);
    }

    /// <summary>
    /// <c>c[r + i] = TinyBlasOrder.Sum(s<sub>i</sub>)</c> for four registers. With AVX-512 the four halving trees run
    /// side by side: each step adds the same lanes as <see cref="TinyBlasOrder.Sum(Vector512{float})"/> (l + l+8, l + l+4,
    /// l + l+2, l + l+1), two or four registers' halves sharing one shuffle and one add, so every sum has the same bits
    /// in about half the instructions of four separate trees.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, int r, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3)
    {
        if (Avx512F.IsSupported)
        {
            // 16 → 8 lanes: [s0 lo + s0 hi | s1 lo + s1 hi] and the same for s2, s3.
            var h01 = Avx512F.Shuffle4x128(s0, s1, 0b01_00_01_00) + Avx512F.Shuffle4x128(s0, s1, 0b11_10_11_10);
            var h23 = Avx512F.Shuffle4x128(s2, s3, 0b01_00_01_00) + Avx512F.Shuffle4x128(s2, s3, 0b11_10_11_10);
            // 8 → 4: one 128-bit quarter per register, in register order.
            var q = Avx512F.Shuffle4x128(h01, h23, 0b10_00_10_00) + Avx512F.Shuffle4x128(h01, h23, 0b11_01_11_01);
            // 4 → 2 → 1 within each quarter.
            q += Avx512F.Permute4x32(q, 0b01_00_11_10);
            q += Avx512F.Permute4x32(q, 0b10_11_00_01);
            Avx512F.PermuteVar16x32(q, Vector512.Create(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).GetLower().GetLower().Store(c + r);
            return;
        }
        c[r] = TinyBlasOrder.Sum(s0);
        c[r + 1] = TinyBlasOrder.Sum(s1);
        c[r + 2] = TinyBlasOrder.Sum(s2);
        c[r + 3] = TinyBlasOrder.Sum(s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, int r, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        c[r] = TinyBlasOrder.Sum(s0);
        c[r + 1] = TinyBlasOrder.Sum(s1);
        c[r + 2] = TinyBlasOrder.Sum(s2);
        c[r + 3] = TinyBlasOrder.Sum(s3);
    }
}
