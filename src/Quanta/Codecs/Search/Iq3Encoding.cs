namespace Quanta.Codecs.Search;

/// <summary>The steps IQ3_XXS and IQ3_S share around the scale search, each in ggml's order of operations.</summary>
internal static class Iq3Encoding
{
    /// <summary><c>2*Σx²/QK_K</c> over the super-block, summed in order.</summary>
    public static float Sigma2(ReadOnlySpan<float> x)
    {
        float sumx2 = 0;
        for (var i = 0; i < x.Length; ++i)
        {
            sumx2 += x[i] * x[i];
        }
        return 2 * sumx2 / SuperBlockCodec.SuperBlockSize;
    }

    /// <summary>
    /// Fit weights <c>qw·sqrt(σ² + x²)</c> with importance, <c>x²</c> without, and their square roots (the
    /// neighbour search's weights).
    /// </summary>
    public static void Weights(ReadOnlySpan<float> xb, ReadOnlySpan<float> importance, float sigma2, Span<float> weight, Span<float> waux)
    {
        if (importance.IsEmpty)
        {
            for (var i = 0; i < xb.Length; ++i)
            {
                weight[i] = xb[i] * xb[i];
            }
        }
        else
        {
            for (var i = 0; i < xb.Length; ++i)
            {
                weight[i] = importance[i] * MathF.Sqrt(sigma2 + xb[i] * xb[i]);
            }
        }
        for (var i = 0; i < xb.Length; ++i)
        {
            waux[i] = MathF.Sqrt(weight[i]);
        }
    }

    /// <summary>
    /// Splits eight values into magnitudes and sign bits (bit i set for a negative value i), as ggml does before
    /// the grid search. <c>v ≥ 0 ? v : −v</c>, not |v|: a −0 stays −0.
    /// </summary>
    public static int SplitSigns(ReadOnlySpan<float> x, Span<float> magnitudes)
    {
        var signs = 0;
        for (var i = 0; i < 8; ++i)
        {
            var v = x[i];
            if (v >= 0)
            {
                magnitudes[i] = v;
            }
            else
            {
                magnitudes[i] = -v;
                signs |= 1 << i;
            }
        }
        return signs;
    }

    /// <summary>ggml's <c>MAX</c> fold: <c>max &gt; v ? max : v</c> from the first value.</summary>
    public static float Max(ReadOnlySpan<float> xval)
    {
        var max = xval[0];
        for (var i = 1; i < xval.Length; ++i)
        {
            max = max > xval[i] ? max : xval[i];
        }
        return max;
    }

    /// <summary>The scale search, on the lane-parallel path when asked.</summary>
    public static float FindScale(
        Iq3Lattice lattice, Iq3Search.Variant variant, bool vectorized, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> waux, float max, Span<sbyte> levels) =>
        vectorized
            ? Iq3LaneSearch.FindScale(lattice, variant, xval, weight, waux, max, levels)
            : Iq3Search.FindScale(lattice, variant, xval, weight, waux, max, levels);

    /// <summary>
    /// A negative importance weight makes ggml's neighbour weights NaN (square root of a negative), and its search
    /// then aborts; Quanta says so before writing the block.
    /// </summary>
    public static void RejectNegative(ReadOnlySpan<float> importance)
    {
        for (var i = 0; i < importance.Length; ++i)
        {
            if (importance[i] < 0)
            {
                throw new ArgumentException($"importance weight {i} of a block is {importance[i]}; IQ3 formats need weights of at least zero", nameof(importance));
            }
        }
    }
}
