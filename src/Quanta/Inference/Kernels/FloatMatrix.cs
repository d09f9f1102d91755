using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml-cpu's <c>mul_mat</c> for F32 and F16 weights (<typeparamref name="TW"/>) against activations already converted
/// to their <c>vec_dot_type</c> (<typeparamref name="TX"/>: F32, or F16 for F16 weights): llamafile's tinyBLAS
/// (<see cref="FloatTiles"/>) for a batch of two or more tokens when the row length is a multiple of its lane count
/// and the rows come in fours, else <c>ggml_vec_dot</c> (<see cref="FloatVecDot"/>) row by row. For the tiles, F16
/// rows are widened to float into per-thread buffers (exact, as tinyBLAS's <c>_mm512_cvtph_ps</c> loads are): the
/// activations once per call, the weights a block of rows at a time, so each conversion is paid once and not once
/// per product.
/// </summary>
/// <remarks>
/// llama.cpp tests the row count of the whole matrix; a chunk only sees its own, so a matrix whose row count is not a
/// multiple of 4 has its last chunk in the vec_dot order and the others in tinyBLAS's.
/// </remarks>
internal static unsafe class FloatMatrix
{
    /// <summary>About this many bytes of widened weight rows are multiplied with every group of four tokens at a time.</summary>
    const int BlockBytes = 256 * 1024;

    [ThreadStatic]
    static float[]? t_block;

    [ThreadStatic]
    static float[]? t_activations;

    public static void Multiply<TW, TX>(
        ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n,
        Span<float> output, int outputStride, bool doubleTail, KernelWidth width)
        where TW : IFloatRow
        where TX : IFloatRow
    {
        fixed (byte* x = activations)
        {
            if (typeof(TX) == typeof(F32Row))
            {
                MultiplyFloat<TW>(weights, rowBytes, rows, (float*)x, activationRowBytes / sizeof(float), tokens, n, output, outputStride, doubleTail, width);
                return;
            }
            // Grows to the largest batch once per thread; later calls reuse it.
            Grow(ref t_activations, (long)tokens * n);
            fixed (float* wide = t_activations)
            {
                WidenActivations(x, activationRowBytes, tokens, n, wide, width);
                MultiplyFloat<TW>(weights, rowBytes, rows, wide, n, tokens, n, output, outputStride, doubleTail, width);
            }
        }
    }

    /// <summary>
    /// As <see cref="Multiply{TW, TX}"/> with the activations already float (F32, or F16 widened once by the caller for
    /// every chunk of rows): <paramref name="tokens"/> rows of <paramref name="n"/> floats, <paramref name="ldb"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyFloat<TW>(
        ReadOnlySpan<byte> weights, int rowBytes, int rows, float* b, long ldb, int tokens, int n,
        Span<float> output, int outputStride, bool doubleTail, KernelWidth width)
        where TW : IFloatRow
    {
        fixed (byte* w = weights)
        fixed (float* y = output)
        {
            if (!TinyBlasOrder.Applies(tokens, n, width) || rows % 4 != 0)
            {
                VecDots<TW>(w, rowBytes, rows, b, ldb, tokens, n, y, outputStride, doubleTail, width);
                return;
            }
            var blockRows = Math.Clamp(BlockBytes / (4 * n) / 4 * 4, 4, 64);
            var wideWeights = typeof(TW) != typeof(F32Row);
            if (wideWeights)
            {
                Grow(ref t_block, (long)blockRows * n);
            }
            fixed (float* block = t_block)
            {
                for (var r0 = 0; r0 < rows; r0 += blockRows)
                {
                    var count = Math.Min(blockRows, rows - r0);
                    float* a;
                    long lda;
                    if (wideWeights)
                    {
                        // Each row widened once and multiplied with every token of the batch from the block.
                        for (var r = 0; r < count; r++)
                        {
                            HalfWidening.Row((ushort*)(w + ((long)(r0 + r) * rowBytes)), block + ((long)r * n), n, width);
                        }
                        a = block;
                        lda = n;
                    }
                    else
                    {
                        a = (float*)(w + ((long)r0 * rowBytes));
                        lda = rowBytes / sizeof(float);
                    }
                    FloatTiles.Multiply(a, lda, count, b, ldb, tokens, n, y + r0, outputStride, width);
                }
            }
        }
    }

    /// <summary>
    /// F16 rows against activations given both widened (<paramref name="b"/>) and times 2^112 (<paramref name="scaled"/>,
    /// <see cref="F16ScaledDot.Scale"/>): at 512 bits, a block of rows holding no infinity or NaN goes through the
    /// sliced tiles converting each half as it is loaded (<see cref="FloatTiles.SlicedScaledHalves"/>: the same sums,
    /// without writing and reading back a widened copy, and half the bytes per load); anything else as
    /// <see cref="MultiplyFloat{TW}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyHalves(
        ReadOnlySpan<byte> weights, int rowBytes, int rows, float* b, float* scaled, long ldb, int tokens, int n,
        Span<float> output, int outputStride, KernelWidth width) =>
        MultiplyHalves(weights, rowBytes, rows, b, scaled, ldb, tokens, n, output, outputStride, width, default);

    /// <summary>
    /// As above, with what earlier calls found of these rows (<see cref="LinearWeights.RowGroupChecks"/> from the
    /// first of them, one byte per group of four rows; empty: nothing kept): a block whose groups are all known finite
    /// is not checked again, and a block checked here has its groups marked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyHalves(
        ReadOnlySpan<byte> weights, int rowBytes, int rows, float* b, float* scaled, long ldb, int tokens, int n,
        Span<float> output, int outputStride, KernelWidth width, Span<byte> rowGroupChecks)
    {
        if (width != KernelWidth.Vector512 || !TinyBlasOrder.Applies(tokens, n, width) || rows % 4 != 0)
        {
            MultiplyFloat<F16Row>(weights, rowBytes, rows, b, ldb, tokens, n, output, outputStride, doubleTail: true, width);
            return;
        }
        // As many rows as the sliced tiles keep sums for, whatever the row length: each slice of a group of tokens'
        // activations is then reused by 16 groups of four rows while it is in L1, and the weights stream from L2 (or
        // L3) at a rate the multiply-adds hide. ffn_down's rows of 5,632 measured 1.3× faster this way than in
        // L2-sized blocks of 20 rows or widened (single thread, 2,048 × 5,632 × 512 tokens).
        const int blockRows = FloatTiles.MaxSlicedRows;
        var ld = rowBytes / sizeof(ushort);
        fixed (byte* w = weights)
        fixed (float* y = output)
        {
            for (var r0 = 0; r0 < rows; r0 += blockRows)
            {
                var count = Math.Min(blockRows, rows - r0);
                var block = (ushort*)(w + ((long)r0 * rowBytes));
                if (IsFinite(block, ld, count, n, rowGroupChecks.IsEmpty ? default : rowGroupChecks.Slice(r0 / 4, count / 4))
                    && FloatTiles.SlicedScaledHalves(block, ld, count, scaled, ldb, tokens, n, y + r0, outputStride))
                {
                    continue;
                }
                MultiplyFloat<F16Row>(weights.Slice(r0 * rowBytes, count * rowBytes), rowBytes, count, b, ldb, tokens, n, output[r0..], outputStride, doubleTail: true, width);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="count"/> rows (a multiple of 4) hold no infinity or NaN: from <paramref name="checks"/>
    /// (one byte per group of four rows) when every group is known, else by looking, and the answer kept there.
    /// </summary>
    static bool IsFinite(ushort* rows, long ld, int count, int n, Span<byte> checks)
    {
        const byte finite = 1, notFinite = 2;
        if (!checks.IsEmpty)
        {
            if (!checks.ContainsAnyExcept(finite))
            {
                return true;
            }
            if (checks.Contains(notFinite))
            {
                return false;
            }
        }
        var result = !HasInfinityOrNaN(rows, ld, count, n);
        checks.Fill(result ? finite : notFinite);
        return result;
    }

    /// <summary>Whether any of <paramref name="count"/> rows of <paramref name="n"/> halves has the all-ones exponent.</summary>
    /// <remarks>256-bit vectors at any width: the pass is bound by memory, and they are accelerated wherever a vector path runs.</remarks>
    internal static bool HasInfinityOrNaN(ushort* rows, long ld, int count, int n)
    {
        var exponent = Vector256.Create((ushort)0x7C00);
        var largest = Vector256<ushort>.Zero;
        for (var r = 0; r < count; r++)
        {
            var row = rows + (r * ld);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i + 16 <= n; i += 16)
                {
                    largest = Vector256.Max(largest, Vector256.Load(row + i) & exponent);
                }
            }
            for (; i < n; i++)
            {
                if ((row[i] & 0x7C00) == 0x7C00)
                {
                    return true;
                }
            }
        }
        return Vector256.EqualsAny(largest, exponent);
    }

    /// <summary>F16 activation rows to float (exact), once per call rather than once per weight row.</summary>
    public static void WidenActivations(byte* x, int activationRowBytes, int tokens, int n, float* wide, KernelWidth width)
    {
        for (var t = 0; t < tokens; t++)
        {
            HalfWidening.Row((ushort*)(x + ((long)t * activationRowBytes)), wide + ((long)t * n), n, width);
        }
    }

    /// <summary><c>ggml_vec_dot</c> of every row with every token (activations already float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void VecDots<TW>(byte* w, int rowBytes, int rows, float* x, long ldx, int tokens, int n, float* y, int outputStride, bool doubleTail, KernelWidth width)
        where TW : IFloatRow
    {
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t < tokens; t++)
            {
                y[((long)t * outputStride) + r] = FloatVecDot.Dot<TW, F32Row>(w + ((long)r * rowBytes), x + (t * ldx), n, doubleTail, width);
            }
        }
    }

    static void Grow(ref float[]? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new float[length];
        }
    }
}
