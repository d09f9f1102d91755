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
        var max = float.NegativeInfinity;
        // Widened keys: the visible cells' products first, four keys at a time (each still its own sum in its order).
        var keysDone = hasWideKeys && width != KernelWidth.Scalar && headDim % AvxLanes == 0;
        if (keysDone)
        {
            WideKeyScores(wideKeys, wideQuery, headDim, firstVisible, Math.Min(visible, kvLength), scores);
        }
        for (var j = 0; j < kvLength; j++)
        {
            float s;
            if (j >= firstVisible && j < visible)
            {
                s = keysDone ? scores[j]
                    : hasWideKeys
                    ? FloatTimesFloat(wideKeys.Slice(j * headDim, headDim), wideQuery, width)
                    : keyDot is F16Dot
                    ? F16TimesFloat(MemoryMarshal.Cast<byte, ushort>(keys.Slice(j * keyRowBytes, keyRowBytes))[..headDim], wideQuery, width)
                    : keyDot.Dot(keys.Slice(j * keyRowBytes, keyRowBytes), query, headDim, width);
                if (softcap != 0f)
                {
                    // ggml_scale(1/cap), ggml_tanh, ggml_scale(cap): three float roundings, in that order.
                    s = MathF.Tanh(s * (1f / softcap)) * softcap;
                }
                s *= scale;
            }
            else
            {
                s = float.NegativeInfinity;
            }
            scores[j] = s;
            max = MathF.Max(max, s);
        }
        // A masked cell's exponential is exactly 0 (e^−∞), and adding +0 leaves the double sum as it was, so only the
        // visible cells are exponentiated (causal attention masks half the cells on average).
        var end = Math.Min(visible, kvLength);
        double sum = 0;
        for (var j = firstVisible; j < end; j++)
        {
            var e = MathF.Exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        var reciprocal = (float)(1.0 / sum);
        // A masked cell's probability is exactly 0, and fma(v, 0, acc) leaves every lane as it was (the cache holds
        // finite values), so the 32-cell chunks that hold only masked cells are skipped without changing a bit; the
        // masked cells inside the chunks kept get their 0 (F16 +0 widened) without the conversions.
        var firstChunk = firstVisible / AvxLanes * AvxLanes;
        var endChunk = Math.Min(kvLength, (visible + AvxLanes - 1) / AvxLanes * AvxLanes);
        scores[firstChunk..Math.Max(firstChunk, firstVisible)].Clear();
        for (var j = firstVisible; j < end; j++)
        {
            var probability = Fp16.FromFloat(scores[j] * reciprocal);
            probabilities[j] = probability;
            // The probability as ggml's F16 dot reads it back, widened once for every value dimension.
            scores[j] = Fp16.ToFloat(probability);
        }
        if (end < endChunk)
        {
            scores[end..endChunk].Clear();
        }
        var probabilityChunks = scores[firstChunk..endChunk];
        for (var d = 0; d < output.Length; d++)
        {
            output[d] = hasWideValues
                ? FloatTimesFloat(wideValues.Slice((d * kvLength) + firstChunk, endChunk - firstChunk), probabilityChunks, width)
                : F16TimesFloat(valuesTransposed.Slice((d * kvCapacity) + firstChunk, endChunk - firstChunk), probabilityChunks, width);
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
        fixed (float* keys = wideKeys, q = query, s = scores)
        {
            var j = first;
            for (; j + 4 <= end; j += 4)
            {
                var k0 = keys + ((long)j * headDim);
                var k1 = k0 + headDim;
                var k2 = k1 + headDim;
                var k3 = k2 + headDim;
                Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
                Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
                Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
                Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
                for (var i = 0; i < headDim; i += AvxLanes)
                {
                    var q0 = Vector256.Load(q + i);
                    var q1 = Vector256.Load(q + i + 8);
                    var q2 = Vector256.Load(q + i + 16);
                    var q3 = Vector256.Load(q + i + 24);
                    a00 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + i), q0, a00);
                    a01 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + i + 8), q1, a01);
                    a02 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + i + 16), q2, a02);
                    a03 = Vector256.FusedMultiplyAdd(Vector256.Load(k0 + i + 24), q3, a03);
                    a10 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + i), q0, a10);
                    a11 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + i + 8), q1, a11);
                    a12 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + i + 16), q2, a12);
                    a13 = Vector256.FusedMultiplyAdd(Vector256.Load(k1 + i + 24), q3, a13);
                    a20 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + i), q0, a20);
                    a21 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + i + 8), q1, a21);
                    a22 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + i + 16), q2, a22);
                    a23 = Vector256.FusedMultiplyAdd(Vector256.Load(k2 + i + 24), q3, a23);
                    a30 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + i), q0, a30);
                    a31 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + i + 8), q1, a31);
                    a32 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + i + 16), q2, a32);
                    a33 = Vector256.FusedMultiplyAdd(Vector256.Load(k3 + i + 24), q3, a33);
                }
                s[j] = FloatDotOrder.Reduce(a00, a01, a02, a03);
                s[j + 1] = FloatDotOrder.Reduce(a10, a11, a12, a13);
                s[j + 2] = FloatDotOrder.Reduce(a20, a21, a22, a23);
                s[j + 3] = FloatDotOrder.Reduce(a30, a31, a32, a33);
            }
            for (; j < end; j++)
            {
                s[j] = FloatVecDot.Dot<F32Row, F32Row>(keys + ((long)j * headDim), q, headDim, doubleTail: true, KernelWidth.Vector256);
            }
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
