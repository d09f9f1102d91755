namespace Quanta.Inference.Evaluation;

/// <summary>
/// llama-perplexity's three log-softmax variants (examples/perplexity/perplexity.cpp, <c>log_softmax</c>), with
/// its mix of float and double kept: the maximum and each exponential in float, their sum in double.
/// </summary>
internal static class LogSoftmax
{
    /// <summary>
    /// −log p(token) as plain perplexity computes it: <c>logits[tok] - max_logit - log(sum_exp)</c>, the first
    /// difference in float, the rest in double.
    /// </summary>
    public static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int token)
    {
        var max = Max(logits);
        var sumExp = SumExp(logits, max);
        return -((double)(logits[token] - max) - Math.Log(sumExp));
    }

    /// <summary>
    /// Writes the row as llama-perplexity's base file stores it (<c>log_softmax(..., uint16_t * log_prob, tok)</c>):
    /// two floats (scale, the smallest log-probability kept) in the first four uint16 slots, then one uint16 per
    /// token, the logit's distance above <c>max(min_logit, max_logit − 16)</c> in 65535 steps. Returns −log p(token),
    /// computed in float as it does.
    /// </summary>
    public static double Compress(ReadOnlySpan<float> logits, Span<ushort> row, int token)
    {
        var max = logits[0];
        var min = logits[0];
        for (var i = 1; i < logits.Length; i++)
        {
            max = Math.Max(max, logits[i]);
            min = Math.Min(min, logits[i]);
        }
        min = Math.Max(min, max - 16);
        var logSumExp = (float)Math.Log(SumExp(logits, max));
        var minLogProbability = min - max - logSumExp;
        var scale = (max - min) / 65535f;
        System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, float>(row[..4])[0] = scale;
        System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, float>(row[..4])[1] = minLogProbability;
        var codes = row.Slice(4, logits.Length);
        if (scale != 0)
        {
            var inverse = 1 / scale;
            for (var i = 0; i < logits.Length; i++)
            {
                codes[i] = logits[i] > min ? (ushort)NearestInt(inverse * (logits[i] - min)) : (ushort)0;
            }
        }
        else
        {
            codes.Clear();
        }
        return max + logSumExp - logits[token];
    }

    /// <summary>ggml's <c>nearest_int</c>: round half to even through the float mantissa.</summary>
    static int NearestInt(float value)
    {
        var shifted = value + 12582912f;
        return (BitConverter.SingleToInt32Bits(shifted) & 0x007fffff) - 0x00400000;
    }

    public static float Max(ReadOnlySpan<float> logits)
    {
        var max = logits[0];
        for (var i = 1; i < logits.Length; i++)
        {
            max = Math.Max(max, logits[i]);
        }
        return max;
    }

    public static double SumExp(ReadOnlySpan<float> logits, float max)
    {
        var sum = 0.0;
        foreach (var logit in logits)
        {
            sum += MathF.Exp(logit - max);
        }
        return sum;
    }
}
