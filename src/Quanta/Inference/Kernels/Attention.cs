using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Causal self-attention of one query head over the KV cache, as llama.cpp's graph does it without flash attention:
/// the query converted to the key cache's <c>vec_dot_type</c> (F16 for an F16 cache, Q8_0 for a Q8_0 one), scores
/// <c>k·q</c> in float, optionally soft-capped (<c>cap·tanh(s/cap)</c>, gemma2), then <c>ggml_soft_max_ext</c> (scale,
/// −∞ mask, max subtracted, exponentials summed in double, then multiplied by the float reciprocal), the
/// probabilities rounded to F16 and dotted with each dimension of the F16 values. The rows are padded with zeros to
/// ggml's KV length (a multiple of 32) so the float sums take ggml's order.
/// </summary>
public static class Attention
{
    /// <summary>
    /// The running sums of the AVX2 build's <c>ggml_vec_dot_f16</c> (<see cref="FloatDotOrder.Lanes"/> at 256 bits): attention's
    /// F16 products keep that order at every width, as <see cref="F16Dot.Dot(ReadOnlySpan{ushort}, ReadOnlySpan{ushort}, KernelWidth)"/> does.
    /// </summary>
    const int AvxLanes = 32;

    /// <summary>ggml-cpu pads the KV view to a multiple of 32 cells (llama.cpp's <c>n_kv</c> without flash attention).</summary>
    public const int KvPadding = 32;

    /// <param name="query">The head's query, already converted with <paramref name="keyDot"/>'s <c>QuantizeActivations</c>.</param>
    /// <param name="keyDot">The dot product of the key cache's type (F16 or Q8_0 rows).</param>
    /// <param name="keys">This KV head's key rows, <paramref name="keyRowBytes"/> each, at least <paramref name="kvLength"/> rows.</param>
    /// <param name="headDim">Elements per key row.</param>
    /// <param name="valuesTransposed">F16 values of this KV head, <c>dim·kvCapacity + position</c> (llama.cpp's V layout).</param>
    /// <param name="kvCapacity">Row stride of <paramref name="valuesTransposed"/>.</param>
    /// <param name="firstVisible">Positions before it are masked (a sliding window), 0 otherwise.</param>
    /// <param name="visible">Positions firstVisible..visible−1 are attended; the rest up to the padded length are masked.</param>
    /// <param name="kvLength">The padded length (multiple of <see cref="KvPadding"/>).</param>
    /// <param name="scale">The softmax's scale (<c>kq_scale</c>).</param>
    /// <param name="softcap">Attention logit soft-capping (0: none), applied before <paramref name="scale"/>.</param>
    /// <param name="scores">Scratch of at least <paramref name="kvLength"/> floats.</param>
    /// <param name="probabilities">Scratch of at least <paramref name="kvLength"/> halves.</param>
    public static void Head(
        ReadOnlySpan<byte> query, IVecDot keyDot, ReadOnlySpan<byte> keys, int keyRowBytes, int headDim,
        ReadOnlySpan<ushort> valuesTransposed, int kvCapacity, int firstVisible, int visible, int kvLength,
        float scale, float softcap, Span<float> output, Span<float> scores, Span<ushort> probabilities, KernelWidth width) =>
        Head(query, keyDot, keys, keyRowBytes, headDim, valuesTransposed, kvCapacity, default, default, firstVisible, visible, kvLength,
            scale, softcap, output, scores, probabilities, width);

    /// <summary>
    /// <see cref="Head(ReadOnlySpan{byte}, IVecDot, ReadOnlySpan{byte}, int, int, ReadOnlySpan{ushort}, int, int, int, int, float, float, Span{float}, Span{float}, Span{ushort}, KernelWidth)"/>
    /// with the F16 cache already widened to float by the caller, once for all the query heads and tokens that read
    /// it (the widening is exact, so every product and sum is the same): <paramref name="wideKeys"/> (an F16 key
    /// cache only; else empty) holds <paramref name="kvLength"/> rows of <paramref name="headDim"/>,
    /// <paramref name="wideValues"/> (or empty) the values as <c>dim·kvLength + cell</c>.
    /// </summary>
    internal static void Head(
        ReadOnlySpan<byte> query, IVecDot keyDot, ReadOnlySpan<byte> keys, int keyRowBytes, int headDim,
        ReadOnlySpan<ushort> valuesTransposed, int kvCapacity, ReadOnlySpan<float> wideKeys, ReadOnlySpan<float> wideValues,
        int firstVisible, int visible, int kvLength,
        float scale, float softcap, Span<float> output, Span<float> scores, Span<ushort> probabilities, KernelWidth width)
    {
        ArgumentNullException.ThrowIfNull(keyDot);
        var hasWideKeys = !wideKeys.IsEmpty;
        var hasWideValues = !wideValues.IsEmpty;
        if (hasWideKeys)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(wideKeys.Length, kvLength * headDim);
        }
        if (hasWideValues)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(wideValues.Length, output.Length * kvLength);
        }
        // An F16 cache's query is F16 values (keyDot's conversion); widened once here, not once per key.
        Span<float> wideQuery = keyDot is F16Dot ? stackalloc float[headDim] : default;
        if (keyDot is F16Dot)
        {
            var halves = MemoryMarshal.Cast<byte, ushort>(query)[..headDim];
            for (var i = 0; i < headDim; i++)
            {
                wideQuery[i] = Fp16.ToFloat(halves[i]);
            }
        }
        // Only the visible cells are scored: a masked cell is −∞ whatever its product, and neither the maximum nor
        // (see below) the sum sees it.
        var end = Math.Min(visible, kvLength);
        var keysDone = hasWideKeys && width != KernelWidth.Scalar && headDim % AvxLanes == 0;
        if (keysDone)
        {
            // Widened keys: four keys at a time (each still its own sum in its order).
            WideKeyScores(wideKeys, wideQuery, headDim, firstVisible, end, scores);
        }
        else
        {
            for (var j = firstVisible; j < end; j++)
            {
                scores[j] = hasWideKeys
                    ? FloatTimesFloat(wideKeys.Slice(j * headDim, headDim), wideQuery, width)
                    : keyDot is F16Dot
                    ? F16TimesFloat(MemoryMarshal.Cast<byte, ushort>(keys.Slice(j * keyRowBytes, keyRowBytes))[..headDim], wideQuery, width)
                    : keyDot.Dot(keys.Slice(j * keyRowBytes, keyRowBytes), query, headDim, width);
            }
        }
        var (firstChunk, endChunk) = Probabilities(scores, probabilities, firstVisible, visible, kvLength, scale, softcap);
        var probabilityChunks = scores[firstChunk..endChunk];
        var d = 0;
        if (hasWideValues && width != KernelWidth.Scalar && probabilityChunks.Length % AvxLanes == 0)
        {
            // Four value dimensions at a time share the probabilities' loads; each keeps its own sums and fold.
            for (; d + 4 <= output.Length; d += 4)
            {
                FourDots(wideValues[((d * kvLength) + firstChunk)..], kvLength, probabilityChunks, output.Slice(d, 4));
            }
        }
        for (; d < output.Length; d++)
        {
            output[d] = hasWideValues
                ? FloatTimesFloat(wideValues.Slice((d * kvLength) + firstChunk, endChunk - firstChunk), probabilityChunks, width)
                : F16TimesFloat(valuesTransposed.Slice((d * kvCapacity) + firstChunk, endChunk - firstChunk), probabilityChunks, width);
        }
    }

    /// <summary>
    /// <c>ggml_soft_max_ext</c> of one row whose visible cells <paramref name="firstVisible"/>..min(<paramref name="visible"/>,
    /// <paramref name="kvLength"/>)−1 hold their products in <paramref name="scores"/>: soft-capped if asked, scaled, the
    /// maximum subtracted, exponentials summed in double, times the float reciprocal, then rounded to F16 (the value
    /// product's <c>vec_dot_type</c>, into <paramref name="probabilities"/>) and read back as ggml's F16 dot reads them,
    /// into <paramref name="scores"/>, widened once for every value dimension. Masked cells are never touched: their
    /// exponential is exactly 0 and adding +0 leaves the double sum as it was; their probability is 0, and
    /// <c>fma(v, 0, acc)</c> leaves every lane as it was (the cache holds finite values), so the 32-cell chunks that hold
    /// only masked cells are left out of the value products (the chunk range is returned) and the masked cells inside
    /// the chunks kept are set to 0 (F16 +0 widened).
    /// </summary>
    static (int FirstChunk, int EndChunk) Probabilities(
        Span<float> scores, Span<ushort> probabilities, int firstVisible, int visible, int kvLength, float scale, float softcap)
    {
        var end = Math.Min(visible, kvLength);
        var max = float.NegativeInfinity;
        for (var j = firstVisible; j < end; j++)
        {
            var s = scores[j];
            if (softcap != 0f)
            {
                // ggml_scale(1/cap), ggml_tanh, ggml_scale(cap): three float roundings, in that order.
                s = MathF.Tanh(s * (1f / softcap)) * softcap;
            }
            s *= scale;
            scores[j] = s;
            max = MathF.Max(max, s);
        }
        // libm's expf of each visible cell, eight at a time where vectors are accelerated and libm is glibc (GlibcExp:
        // the same floats), each added in double in cell order.
        double sum = 0;
        var cell = firstVisible;
        if (Vector256.IsHardwareAccelerated && OperatingSystem.IsLinux())
        {
            for (; cell + 8 <= end; cell += 8)
            {
                var e = GlibcExp.Exp(Vector256.Create<float>(scores.Slice(cell, 8)) - Vector256.Create(max));
                e.CopyTo(scores.Slice(cell, 8));
                for (var l = 0; l < 8; l++)
                {
                    sum += e.GetElement(l);
                }
            }
        }
        for (; cell < end; cell++)
        {
            var e = MathF.Exp(scores[cell] - max);
            scores[cell] = e;
            sum += e;
        }
        var reciprocal = (float)(1.0 / sum);
        var firstChunk = firstVisible / AvxLanes * AvxLanes;
        var endChunk = Math.Min(kvLength, (visible + AvxLanes - 1) / AvxLanes * AvxLanes);
        scores[firstChunk..Math.Max(firstChunk, firstVisible)].Clear();
        // A row at a time, which gives the element-wise conversions' bits.
        var visibleScores = scores[firstVisible..Math.Max(firstVisible, end)];
        Scale(visibleScores, reciprocal);
        var visibleProbabilities = probabilities[firstVisible..Math.Max(firstVisible, end)];
        Fp16.FromFloat(visibleScores, visibleProbabilities);
        Fp16.ToFloat(visibleProbabilities, visibleScores);
        if (end < endChunk)
        {
            scores[end..endChunk].Clear();
        }
        return (firstChunk, endChunk);
    }

    /// <summary><c>x[i] *= factor</c> (one float rounding each, as ggml_vec_scale_f32).</summary>
    static void Scale(Span<float> x, float factor)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= x.Length; i += 8)
            {
                (Vector256.Create<float>(x.Slice(i, 8)) * factor).CopyTo(x.Slice(i, 8));
            }
        }
        for (; i < x.Length; i++)
        {
            x[i] *= factor;
        }
    }

    /// <summary>
    /// <see cref="FloatTimesFloat"/> of keys <paramref name="first"/>..<paramref name="end"/>−1 (rows of
    /// <paramref name="headDim"/>, a multiple of 32, in <paramref name="wideKeys"/>) with <paramref name="query"/>, into
    /// <paramref name="scores"/>: four keys at a time share the query's loads and the call, and each key keeps its own
    /// four 8-lane sums and <see cref="FloatDotOrder"/>'s fold (a whole number of 32-element steps leaves no tail, and
    /// the tail's double of the fold is the fold), so every score is the one <see cref="FloatTimesFloat"/> gives.
    /// </summary>
    static unsafe void WideKeyScores(ReadOnlySpan<float> wideKeys, ReadOnlySpan<float> query, int headDim, int first, int end, Span<float> scores)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wideKeys.Length, end * headDim);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Length, headDim);
        ArgumentOutOfRangeException.ThrowIfLessThan(scores.Length, end);
        var j = first;
        for (; j + 4 <= end; j += 4)
        {
            FourDots(wideKeys[(j * headDim)..], headDim, query[..headDim], scores.Slice(j, 4));
        }
        for (; j < end; j++)
        {
            scores[j] = FloatTimesFloat(wideKeys.Slice(j * headDim, headDim), query[..headDim], KernelWidth.Vector256);
        }
    }

    /// <summary>
    /// <see cref="Head(ReadOnlySpan{byte}, IVecDot, ReadOnlySpan{byte}, int, int, ReadOnlySpan{ushort}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, float, float, Span{float}, Span{float}, Span{ushort}, KernelWidth)"/>
    /// of two query heads that read the same widened F16 cache (grouped-query attention), at a vector width: each key
    /// and each value dimension is loaded once for both heads (<see cref="Dots4x2"/>), and every product, sum and
    /// probability is the one the single-head path gives. <paramref name="query0"/> and <paramref name="query1"/> are
    /// the F16-rounded queries widened; <paramref name="headDim"/> is a multiple of 32.
    /// </summary>
    internal static void WideHeadPair(
        ReadOnlySpan<float> query0, ReadOnlySpan<float> query1, ReadOnlySpan<float> wideKeys, ReadOnlySpan<float> wideValues, int headDim,
        int firstVisible, int visible, int kvLength, float scale, float softcap,
        Span<float> output0, Span<float> output1, Span<float> scores0, Span<float> scores1, Span<ushort> probabilities)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(headDim % AvxLanes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(wideKeys.Length, kvLength * headDim);
        ArgumentOutOfRangeException.ThrowIfLessThan(wideValues.Length, output0.Length * kvLength);
        ArgumentOutOfRangeException.ThrowIfNotEqual(output1.Length, output0.Length);
        var end = Math.Min(visible, kvLength);
        var j = firstVisible;
        for (; j + 4 <= end; j += 4)
        {
            Dots4x2(wideKeys[(j * headDim)..], headDim, query0[..headDim], query1[..headDim], scores0.Slice(j, 4), scores1.Slice(j, 4));
        }
        for (; j < end; j++)
        {
            scores0[j] = FloatTimesFloat(wideKeys.Slice(j * headDim, headDim), query0[..headDim], KernelWidth.Vector256);
            scores1[j] = FloatTimesFloat(wideKeys.Slice(j * headDim, headDim), query1[..headDim], KernelWidth.Vector256);
        }
        var (firstChunk, endChunk) = Probabilities(scores0, probabilities, firstVisible, visible, kvLength, scale, softcap);
        Probabilities(scores1, probabilities, firstVisible, visible, kvLength, scale, softcap);
        var p0 = scores0[firstChunk..endChunk];
        var p1 = scores1[firstChunk..endChunk];
        var d = 0;
        if (p0.Length % AvxLanes == 0)
        {
            for (; d + 4 <= output0.Length; d += 4)
            {
                Dots4x2(wideValues[((d * kvLength) + firstChunk)..], kvLength, p0, p1, output0.Slice(d, 4), output1.Slice(d, 4));
            }
        }
        for (; d < output0.Length; d++)
        {
            output0[d] = FloatTimesFloat(wideValues.Slice((d * kvLength) + firstChunk, endChunk - firstChunk), p0, KernelWidth.Vector256);
            output1[d] = FloatTimesFloat(wideValues.Slice((d * kvLength) + firstChunk, endChunk - firstChunk), p1, KernelWidth.Vector256);
        }
    }

    /// <summary>
    /// <see cref="FourDots"/> of the same four rows with two vectors at once: with AVX-512 the rows are loaded once for
    /// both (16 accumulators, two 8-lane sums to a register), otherwise two <see cref="FourDots"/>. Same bits.
    /// </summary>
    internal static unsafe void Dots4x2(ReadOnlySpan<float> rows, int stride, ReadOnlySpan<float> y0, ReadOnlySpan<float> y1, Span<float> results0, Span<float> results1)
    {
        var n = y0.Length;
        if (!Vector512.IsHardwareAccelerated)
        {
            FourDots(rows, stride, y0, results0);
            FourDots(rows, stride, y1, results1);
            return;
        }
        ArgumentOutOfRangeException.ThrowIfNotEqual(n % AvxLanes, 0);
        ArgumentOutOfRangeException.ThrowIfNotEqual(y1.Length, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows.Length, (3 * stride) + n);
        ArgumentOutOfRangeException.ThrowIfLessThan(results0.Length, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(results1.Length, 4);
        fixed (float* r0 = rows, py0 = y0, py1 = y1, s0 = results0, s1 = results1)
        {
            var r1 = r0 + stride;
            var r2 = r1 + stride;
            var r3 = r2 + stride;
            // aRV01 / aRV23: row R against vector V, FloatDotOrder's sums 0|1 and 2|3.
            Vector512<float> a0001 = default, a0023 = default, a1001 = default, a1023 = default;
            Vector512<float> a2001 = default, a2023 = default, a3001 = default, a3023 = default;
            Vector512<float> a0101 = default, a0123 = default, a1101 = default, a1123 = default;
            Vector512<float> a2101 = default, a2123 = default, a3101 = default, a3123 = default;
            for (var i = 0; i < n; i += AvxLanes)
            {
                var x01 = Vector512.Load(py0 + i);
                var x23 = Vector512.Load(py0 + i + 16);
                var z01 = Vector512.Load(py1 + i);
                var z23 = Vector512.Load(py1 + i + 16);
                var w01 = Vector512.Load(r0 + i);
                var w23 = Vector512.Load(r0 + i + 16);
                a0001 = Vector512.FusedMultiplyAdd(w01, x01, a0001);
                a0023 = Vector512.FusedMultiplyAdd(w23, x23, a0023);
                a0101 = Vector512.FusedMultiplyAdd(w01, z01, a0101);
                a0123 = Vector512.FusedMultiplyAdd(w23, z23, a0123);
                w01 = Vector512.Load(r1 + i);
                w23 = Vector512.Load(r1 + i + 16);
                a1001 = Vector512.FusedMultiplyAdd(w01, x01, a1001);
                a1023 = Vector512.FusedMultiplyAdd(w23, x23, a1023);
                a1101 = Vector512.FusedMultiplyAdd(w01, z01, a1101);
                a1123 = Vector512.FusedMultiplyAdd(w23, z23, a1123);
                w01 = Vector512.Load(r2 + i);
                w23 = Vector512.Load(r2 + i + 16);
                a2001 = Vector512.FusedMultiplyAdd(w01, x01, a2001);
                a2023 = Vector512.FusedMultiplyAdd(w23, x23, a2023);
                a2101 = Vector512.FusedMultiplyAdd(w01, z01, a2101);
                a2123 = Vector512.FusedMultiplyAdd(w23, z23, a2123);
                w01 = Vector512.Load(r3 + i);
                w23 = Vector512.Load(r3 + i + 16);
                a3001 = Vector512.FusedMultiplyAdd(w01, x01, a3001);
                a3023 = Vector512.FusedMultiplyAdd(w23, x23, a3023);
                a3101 = Vector512.FusedMultiplyAdd(w01, z01, a3101);
                a3123 = Vector512.FusedMultiplyAdd(w23, z23, a3123);
            }
            s0[0] = FloatDotOrder.ReducePairs(a0001, a0023);
            s0[1] = FloatDotOrder.ReducePairs(a1001, a1023);
            s0[2] = FloatDotOrder.ReducePairs(a2001, a2023);
            s0[3] = FloatDotOrder.ReducePairs(a3001, a3023);
            s1[0] = FloatDotOrder.ReducePairs(a0101, a0123);
            s1[1] = FloatDotOrder.ReducePairs(a1101, a1123);
            s1[2] = FloatDotOrder.ReducePairs(a2101, a2123);
            s1[3] = FloatDotOrder.ReducePairs(a3101, a3123);
        }
    }

    /// <summary>
    /// <see cref="FloatTimesFloat"/> at 256 bits of four rows (<paramref name="stride"/> floats apart from the start of
    /// <paramref name="rows"/>) with <paramref name="y"/>, whose length is a multiple of 32, into
    /// <paramref name="results"/>: the rows share <paramref name="y"/>'s loads and one call. Each row keeps the four
    /// 8-lane sums of <see cref="FloatDotOrder"/> (with AVX-512, two of them side by side in one register: the same
    /// lanes taking the same elements) and its fold, so every result is <see cref="FloatTimesFloat"/>'s bit for bit.
    /// </summary>
    internal static unsafe void FourDots(ReadOnlySpan<float> rows, int stride, ReadOnlySpan<float> y, Span<float> results)
    {
        var n = y.Length;
        ArgumentOutOfRangeException.ThrowIfNotEqual(n % AvxLanes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows.Length, (3 * stride) + n);
        ArgumentOutOfRangeException.ThrowIfLessThan(results.Length, 4);
        fixed (float* r0 = rows, py = y, s = results)
        {
            var r1 = r0 + stride;
            var r2 = r1 + stride;
            var r3 = r2 + stride;
            if (Vector512.IsHardwareAccelerated)
            {
                // a01 holds FloatDotOrder's first two 8-lane sums (elements i..i+15 of each step), a23 the last two.
                Vector512<float> a001 = default, a023 = default, a101 = default, a123 = default;
                Vector512<float> a201 = default, a223 = default, a301 = default, a323 = default;
                for (var i = 0; i < n; i += AvxLanes)
                {
                    var y01 = Vector512.Load(py + i);
                    var y23 = Vector512.Load(py + i + 16);
                    a001 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + i), y01, a001);
                    a023 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + i + 16), y23, a023);
                    a101 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + i), y01, a101);
                    a123 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + i + 16), y23, a123);
                    a201 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + i), y01, a201);
                    a223 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + i + 16), y23, a223);
                    a301 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + i), y01, a301);
                    a323 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + i + 16), y23, a323);
                }
                s[0] = FloatDotOrder.ReducePairs(a001, a023);
                s[1] = FloatDotOrder.ReducePairs(a101, a123);
                s[2] = FloatDotOrder.ReducePairs(a201, a223);
                s[3] = FloatDotOrder.ReducePairs(a301, a323);
                return;
            }
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (var i = 0; i < n; i += AvxLanes)
            {
                var q0 = Vector256.Load(py + i);
                var q1 = Vector256.Load(py + i + 8);
                var q2 = Vector256.Load(py + i + 16);
                var q3 = Vector256.Load(py + i + 24);
                a00 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + i), q0, a00);
                a01 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + i + 8), q1, a01);
                a02 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + i + 16), q2, a02);
                a03 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + i + 24), q3, a03);
                a10 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + i), q0, a10);
                a11 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + i + 8), q1, a11);
                a12 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + i + 16), q2, a12);
                a13 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + i + 24), q3, a13);
                a20 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + i), q0, a20);
                a21 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + i + 8), q1, a21);
                a22 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + i + 16), q2, a22);
                a23 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + i + 24), q3, a23);
                a30 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + i), q0, a30);
                a31 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + i + 8), q1, a31);
                a32 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + i + 16), q2, a32);
                a33 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + i + 24), q3, a33);
            }
            s[0] = FloatDotOrder.Reduce(a00, a01, a02, a03);
            s[1] = FloatDotOrder.Reduce(a10, a11, a12, a13);
            s[2] = FloatDotOrder.Reduce(a20, a21, a22, a23);
            s[3] = FloatDotOrder.Reduce(a30, a31, a32, a33);
        }
    }

    /// <summary>
    /// <see cref="F16TimesFloat"/> with the first operand widened too: the same products in the same
    /// <see cref="FloatDotOrder"/> (the AVX2 one at every width), the tail added in double.
    /// </summary>
    internal static unsafe float FloatTimesFloat(ReadOnlySpan<float> x, ReadOnlySpan<float> y, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        fixed (float* px = x, py = y)
        {
            return FloatVecDot.Dot<F32Row, F32Row>(px, py, x.Length, doubleTail: true, width == KernelWidth.Vector512 ? KernelWidth.Vector256 : width);
        }
    }

    /// <summary>
    /// <see cref="F16Dot.Dot(ReadOnlySpan{ushort}, ReadOnlySpan{ushort}, KernelWidth)"/> with the second operand's
    /// F16 values already widened to float: the same products in the same <see cref="FloatDotOrder"/>.
    /// </summary>
    internal static float F16TimesFloat(ReadOnlySpan<ushort> x, ReadOnlySpan<float> y, KernelWidth width)
    {
        var whole = x.Length - (x.Length % AvxLanes);
        double sum;
        if (width == KernelWidth.Scalar)
        {
            Span<float> acc = stackalloc float[AvxLanes];
            acc.Clear();
            for (var i = 0; i < whole; i += AvxLanes)
            {
                for (var l = 0; l < AvxLanes; l++)
                {
                    acc[l] = MathF.FusedMultiplyAdd(Fp16.ToFloat(x[i + l]), y[i + l], acc[l]);
                }
            }
            sum = FloatDotOrder.Reduce(acc);
        }
        else
        {
            // Eight lanes at a time at either width, as F16Dot: a 512-bit register would only regroup the same 32 sums.
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (var i = 0; i < whole; i += AvxLanes)
            {
                var (x0, x1) = Vector256.Widen(Vector256.Create(x.Slice(i, 16)));
                var (x2, x3) = Vector256.Widen(Vector256.Create(x.Slice(i + 16, 16)));
                a0 = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(x0), Vector256.Create(y.Slice(i, 8)), a0);
                a1 = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(x1), Vector256.Create(y.Slice(i + 8, 8)), a1);
                a2 = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(x2), Vector256.Create(y.Slice(i + 16, 8)), a2);
                a3 = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(x3), Vector256.Create(y.Slice(i + 24, 8)), a3);
            }
            // FloatDotOrder.Reduce on registers: (0+2) and (1+3), the two added, then 8 lanes to one.
            var v = (a0 + a2) + (a1 + a3);
            var t = v.GetLower() + v.GetUpper();
            sum = (t.GetElement(0) + t.GetElement(1)) + (t.GetElement(2) + t.GetElement(3));
        }
        for (var i = whole; i < x.Length; i++)
        {
            sum += Fp16.ToFloat(x[i]) * y[i];
        }
        return (float)sum;
    }
}
