namespace Quanta.Codecs.Search;

/// <summary>
/// Searches for a signed scale with no offset (the value grid is <c>scale · [-nmax, nmax-1]</c>): ggml's
/// <c>make_qx_quants</c> (Q6_K, Q3_K with importance) and <c>make_q3_quants</c> (Q3_K without).
/// Every sum is a sequential float32 loop in ggml's order and every product is evaluated left to right as C
/// does, because a single reordered rounding can flip a later comparison and change the bytes.
/// </summary>
internal static class SymmetricSearch
{
    /// <summary>
    /// ggml's <c>make_qx_quants(n, nmax, x, L, rmse_type = 1, qw)</c>: tries 19 reciprocal scales around
    /// <c>-nmax / max</c> and keeps the one with the best weighted least-squares fit. <paramref name="weights"/>
    /// empty means ggml's <c>qw == NULL</c>, i.e. weights <c>x²</c>. Writes <c>L[i] = q + nmax</c> and returns the
    /// scale.
    /// </summary>
    public static float MakeQx(ReadOnlySpan<float> x, int nmax, Span<sbyte> levels, ReadOnlySpan<float> weights)
    {
        var n = x.Length;
        var max = GgmlMath.LargestMagnitude(x, out var amax);
        if (amax < GgmlMath.GroupMaxEps)
        {
            // ggml leaves L at 0 here, not at the zero level nmax; callers may keep these levels.
            levels[..n].Clear();
            return 0f;
        }

        var weighted = !weights.IsEmpty;
        var iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (var i = 0; i < n; ++i)
        {
            var l = Clamp(GgmlMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (sbyte)(l + nmax);
            var w = weighted ? weights[i] : x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        // C tests `suml2 ?`, i.e. non-zero (NaN counts as true); `!= 0` keeps that.
        var scale = suml2 != 0 ? sumlx / suml2 : 0f;
        var best = scale * sumlx;
        for (var step = -9; step <= 9; ++step)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = 0;
            suml2 = 0;
            for (var i = 0; i < n; ++i)
            {
                var l = Clamp(GgmlMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                var w = weighted ? weights[i] : x[i] * x[i];
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (var i = 0; i < n; ++i)
                {
                    var l = Clamp(GgmlMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                    levels[i] = (sbyte)(l + nmax);
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// ggml's <c>make_q3_quants(n, nmax, x, L, do_rmse = true)</c>: starts from <c>-nmax / max</c>, then up to five
    /// passes move single levels while that improves the weighted (<c>x²</c>) fit. Writes <c>L[i] = q + nmax</c>
    /// and returns the least-squares scale (0 when the fit is empty, as in the 2026 source).
    /// </summary>
    public static float MakeQ3(ReadOnlySpan<float> x, int nmax, Span<sbyte> levels)
    {
        var n = x.Length;
        var max = GgmlMath.LargestMagnitude(x, out var amax);
        if (amax < GgmlMath.GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }

        var iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (var i = 0; i < n; ++i)
        {
            var l = Clamp(GgmlMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (sbyte)l;
            var w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = 0;
            for (var i = 0; i < n; ++i)
            {
                var w = x[i] * x[i];
                var slx = sumlx - w * x[i] * levels[i];
                if (slx > 0)
                {
                    var sl2 = suml2 - w * levels[i] * levels[i];
                    var newL = Clamp(GgmlMath.NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (newL != levels[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            levels[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            ++changed;
                        }
                    }
                }
            }
            if (changed == 0)
            {
                break;
            }
        }
        for (var i = 0; i < n; ++i)
        {
            levels[i] = (sbyte)(levels[i] + nmax);
        }
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }

    /// <summary>C's <c>MAX(lo, MIN(hi, v))</c> on ints.</summary>
    internal static int Clamp(int value, int lo, int hi) => Math.Max(lo, Math.Min(hi, value));
}
