namespace Quanta.Codecs.Search;

/// <summary>
/// Searches for a scale and a (non-positive) minimum, the value grid being <c>min + scale · [0, nmax]</c>:
/// ggml's <c>make_qkx2_quants</c> (Q2_K, Q4_K, Q5_K without importance) and <c>make_qkx3_quants</c> (the same
/// kinds with importance). With explicit weights the two C functions perform the same operations in the same
/// order (their all-equal tests <c>max == min</c> and <c>max &lt;= min</c> agree because <c>max &gt;= min</c>
/// always, NaN included), so one implementation serves both; the named entry points keep call sites readable
/// against the C source.
/// </summary>
internal static class AffineSearch
{
    /// <summary>ggml's <c>make_qkx2_quants</c>; see <see cref="Search"/>.</summary>
    public static float MakeQkx2(ReadOnlySpan<float> x, int nmax, ReadOnlySpan<float> weights, Span<byte> levels,
        out float theMin, Span<byte> scratch, float rmin, float rdelta, int nstep, bool useMad) =>
        Search(x, nmax, weights, levels, out theMin, scratch, rmin, rdelta, nstep, useMad);

    /// <summary>ggml's <c>make_qkx3_quants</c> with non-null weights; see <see cref="Search"/>.</summary>
    public static float MakeQkx3(ReadOnlySpan<float> x, int nmax, ReadOnlySpan<float> weights, Span<byte> levels,
        out float theMin, Span<byte> scratch, float rmin, float rdelta, int nstep, bool useMad) =>
        Search(x, nmax, weights, levels, out theMin, scratch, rmin, rdelta, nstep, useMad);

    /// <summary>
    /// Starts from the grid spanning [min(0, min x), max x], then tries <c>nstep + 1</c> reciprocal scales
    /// <c>(rmin + rdelta·is + nmax) / (max - min)</c>; for each, solves the weighted least-squares scale and
    /// offset for the rounded levels and keeps it if its weighted error (absolute with <paramref name="useMad"/>,
    /// squared otherwise) is lower. Returns the scale; <paramref name="theMin"/> receives <c>-min</c> (so
    /// <c>-0f</c> when the minimum is 0, as in C).
    /// </summary>
    private static float Search(ReadOnlySpan<float> x, int nmax, ReadOnlySpan<float> weights, Span<byte> levels,
        out float theMin, Span<byte> scratch, float rmin, float rdelta, int nstep, bool useMad)
    {
        var n = x.Length;
        var min = x[0];
        var max = x[0];
        var sumW = weights[0];
        var sumX = sumW * x[0];
        for (var i = 1; i < n; ++i)
        {
            if (x[i] < min)
            {
                min = x[i];
            }
            if (x[i] > max)
            {
                max = x[i];
            }
            var w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0)
        {
            min = 0;
        }
        if (max == min)
        {
            levels[..n].Clear();
            theMin = -min;
            return 0f;
        }

        var iscale = nmax / (max - min);
        var scale = 1 / iscale;
        float bestError = 0;
        for (var i = 0; i < n; ++i)
        {
            var l = GgmlMath.NearestInt(iscale * (x[i] - min));
            levels[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            var diff = scale * levels[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }

        for (var step = 0; step <= nstep; ++step)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (var i = 0; i < n; ++i)
            {
                var l = Math.Max(0, Math.Min(nmax, GgmlMath.NearestInt(iscale * (x[i] - min))));
                scratch[i] = (byte)l;
                var w = weights[i];
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
                float error = 0;
                for (var i = 0; i < n; ++i)
                {
                    var diff = thisScale * scratch[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    error += weights[i] * diff;
                }
                if (error < bestError)
                {
                    scratch[..n].CopyTo(levels);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }
}
