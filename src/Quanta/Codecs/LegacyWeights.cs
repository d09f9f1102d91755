namespace Quanta.Codecs;

/// <summary>
/// How ggml turns importance weights into per-value weights for Q4_0, Q4_1, Q5_0 and Q5_1
/// (<c>quantize_row_q4_0_impl</c> and siblings), and per group for the K-quants' weighted searches:
/// <c>w = importance · √(σ² + x²)</c>, σ² the row's mean square.
/// </summary>
internal static class LegacyWeights
{
    /// <summary>Mean of x² over the whole row, summed in order as ggml does.</summary>
    public static float RowSigma2(ReadOnlySpan<float> row)
    {
        float sum = 0;
        foreach (var v in row)
        {
            sum += v * v;
        }
        return sum / row.Length;
    }

    public static void Fill(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2, Span<float> weight)
    {
        for (var j = 0; j < x.Length; j++)
        {
            weight[j] = importance[j] * MathF.Sqrt(sigma2 + x[j] * x[j]);
        }
    }

    /// <summary><see cref="Fill"/>, returning the weights' sum in element order (the K-quants' per-group Σw).</summary>
    public static float FillAndSum(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2, Span<float> weight)
    {
        Fill(x, importance, sigma2, weight);
        float sum = 0;
        for (var j = 0; j < x.Length; j++)
        {
            sum += weight[j];
        }
        return sum;
    }
}
