using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Causal self-attention of one query head over an F16 key/value cache, as llama.cpp's graph does it without
/// flash attention: the query rounded to F16 (the F16 cache's <c>vec_dot_type</c>), scores <c>k·q</c> in float,
/// <c>ggml_soft_max_ext</c> (scale, −∞ mask, max subtracted, exponentials summed in double, then multiplied by the
/// float reciprocal), the probabilities rounded to F16 and dotted with each dimension of the values. The rows
/// are padded with zeros to ggml's KV length (a multiple of 32) so the float sums take ggml's order.
/// </summary>
public static class Attention
{
    /// <summary>ggml-cpu pads the KV view to a multiple of 32 cells (llama.cpp's <c>n_kv</c> without flash attention).</summary>
    public const int KvPadding = 32;

    /// <param name="query">The head's query (float, after rope).</param>
    /// <param name="keys">F16 keys of this KV head, <c>position·headDim</c>, at least <paramref name="kvLength"/> rows.</param>
    /// <param name="valuesTransposed">F16 values of this KV head, <c>dim·kvCapacity + position</c> (llama.cpp's V layout).</param>
    /// <param name="kvCapacity">Row stride of <paramref name="valuesTransposed"/>.</param>
    /// <param name="visible">Positions 0..visible−1 are attended; the rest up to the padded length are masked.</param>
    /// <param name="kvLength">The padded length (multiple of <see cref="KvPadding"/>).</param>
    /// <param name="scores">Scratch of at least <paramref name="kvLength"/> floats.</param>
    /// <param name="scratch16">Scratch of at least headDim + <paramref name="kvLength"/> halves.</param>
    public static void Head(
        ReadOnlySpan<float> query, ReadOnlySpan<ushort> keys, ReadOnlySpan<ushort> valuesTransposed, int kvCapacity,
        int visible, int kvLength, float scale, Span<float> output, Span<float> scores, Span<ushort> scratch16, KernelWidth width)
    {
        var headDim = query.Length;
        var q16 = scratch16[..headDim];
        Fp16.FromFloat(query, q16);
        var probabilities = scratch16.Slice(headDim, kvLength);
        var max = float.NegativeInfinity;
        for (var j = 0; j < kvLength; j++)
        {
            var s = j < visible ? F16Dot.Dot(keys.Slice(j * headDim, headDim), q16, width) * scale : float.NegativeInfinity;
            scores[j] = s;
            max = MathF.Max(max, s);
        }
        double sum = 0;
        for (var j = 0; j < kvLength; j++)
        {
            var e = MathF.Exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        var reciprocal = (float)(1.0 / sum);
        for (var j = 0; j < kvLength; j++)
        {
            probabilities[j] = Fp16.FromFloat(scores[j] * reciprocal);
        }
        for (var d = 0; d < output.Length; d++)
        {
            output[d] = F16Dot.Dot(valuesTransposed.Slice(d * kvCapacity, kvLength), probabilities, width);
        }
    }
}
