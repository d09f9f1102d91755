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
        float scale, float softcap, Span<float> output, Span<float> scores, Span<ushort> probabilities, KernelWidth width)
    {
        ArgumentNullException.ThrowIfNull(keyDot);
        var max = float.NegativeInfinity;
        for (var j = 0; j < kvLength; j++)
        {
            float s;
            if (j >= firstVisible && j < visible)
            {
                s = keyDot.Dot(keys.Slice(j * keyRowBytes, keyRowBytes), query, headDim, width);
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
            output[d] = F16Dot.Dot(valuesTransposed.Slice(d * kvCapacity, kvLength), probabilities[..kvLength], width);
        }
    }
}
