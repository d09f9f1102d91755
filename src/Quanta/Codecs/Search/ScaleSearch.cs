namespace Quanta.Codecs.Search;

/// <summary>
/// ggml's scale searches for one group of values (<c>make_qx_quants</c>, <c>make_qkx3_quants</c> in
/// ggml-quants.c). Every sum is the same sequential float loop, in the same order and with the same
/// association, as in C: the search compares sums, so a reordered reduction picks different scales.
/// </summary>
internal static class ScaleSearch
{
    /// <summary>
    /// Symmetric quants <c>l ∈ [-nmax, nmax-1]</c> (stored as <c>l + nmax</c>) and the scale that minimises the
    /// weighted error, trying 19 candidate inverse scales around <c>-nmax / max</c>. Returns the scale.
    /// <paramref name="weights"/> empty means the weight is chosen by <paramref name="rmseType"/>
    /// (1: x², 2: 1, 3: |x|, otherwise √|x|); a negative type returns after the first candidate.
    /// </summary>
    public static float MakeQx(int nmax, ReadOnlySpan<float> x, Span<sbyte> levels, int rmseType, ReadOnlySpan<float> weights)
    {
        const float GroupMaxEps = 1e-15f;
        var n = x.Length;
        float max = 0, amax = 0;
        for (var i = 0; i < n; i++)
        {
            var ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }
        var iscale = -nmax / max;
        if (rmseType == 0)
        {
            for (var i = 0; i < n; i++)
            {
                var l = GgmlMath.NearestInt(iscale * x[i]);
                levels[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
            }
            return 1 / iscale;
        }
        var returnEarly = false;
        if (rmseType < 0)
        {
            rmseType = -rmseType;
            returnEarly = true;
        }
        float sumlx = 0, suml2 = 0;
        for (var i = 0; i < n; i++)
        {
            var l = GgmlMath.NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            levels[i] = (sbyte)(l + nmax);
            var w = Weight(x[i], i, rmseType, weights);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        var scale = suml2 != 0 ? sumlx / suml2 : 0f;
        if (returnEarly)
        {
            return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        }
        var best = scale * sumlx;
        for (var step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = suml2 = 0;
            for (var i = 0; i < n; i++)
            {
                var l = GgmlMath.NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                var w = Weight(x[i], i, rmseType, weights);
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (var i = 0; i < n; i++)
                {
                    var l = GgmlMath.NearestInt(iscale * x[i]);
                    levels[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    static float Weight(float x, int i, int rmseType, ReadOnlySpan<float> weights) =>
        !weights.IsEmpty ? weights[i]
        : rmseType == 1 ? x * x
        : rmseType == 2 ? 1
        : rmseType == 3 ? MathF.Abs(x)
        : MathF.Sqrt(MathF.Abs(x));

    /// <summary>
    /// Asymmetric quants <c>l ∈ [0, nmax]</c> with scale and minimum chosen by weighted least squares over
    /// <paramref name="steps"/> + 1 candidate inverse scales. Returns the scale; <paramref name="negatedMin"/>
    /// receives −min, as ggml's <c>the_min</c>. <paramref name="weights"/> empty means x².
    /// </summary>
    public static float MakeQkx3(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> levels,
        out float negatedMin, Span<byte> scratch, float rmin, float rdelta, int steps, bool useMad)
    {
        var n = x.Length;
        var min = x[0];
        var max = x[0];
        var sumW = weights.IsEmpty ? x[0] * x[0] : weights[0];
        var sumX = sumW * x[0];
        for (var i = 1; i < n; i++)
        {
            if (x[i] < min)
            {
                min = x[i];
            }
            if (x[i] > max)
            {
                max = x[i];
            }
            var w = weights.IsEmpty ? x[i] * x[i] : weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0)
        {
            min = 0;
        }
        if (max <= min)
        {
            levels[..n].Clear();
            negatedMin = -min;
            return 0f;
        }
        var iscale = nmax / (max - min);
        var scale = 1 / iscale;
        float bestMad = 0;
        for (var i = 0; i < n; i++)
        {
            var l = GgmlMath.NearestInt(iscale * (x[i] - min));
            levels[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            var diff = scale * levels[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            var w = weights.IsEmpty ? x[i] * x[i] : weights[i];
            bestMad += w * diff;
        }
        if (steps < 1)
        {
            negatedMin = -min;
            return scale;
        }
        for (var step = 0; step <= steps; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (var i = 0; i < n; i++)
            {
                var l = GgmlMath.NearestInt(iscale * (x[i] - min));
                l = Math.Max(0, Math.Min(nmax, l));
                scratch[i] = (byte)l;
                var w = weights.IsEmpty ? x[i] * x[i] : weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            var det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                var thisScale = (sumW * sumXL - sumX * sumL) / det;
                var thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float mad = 0;
                for (var i = 0; i < n; i++)
                {
                    var diff = thisScale * scratch[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    var w = weights.IsEmpty ? x[i] * x[i] : weights[i];
                    mad += w * diff;
                }
                if (mad < bestMad)
                {
                    scratch[..n].CopyTo(levels);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        negatedMin = -min;
        return scale;
    }
}
