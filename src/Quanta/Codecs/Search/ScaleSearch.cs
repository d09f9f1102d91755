namespace Quanta.Codecs.Search;

/// <summary>
/// ggml's <c>make_qp_quants</c>: quantizes a short vector of non-negative values (the sub-block scales or mins of
/// a super-block) to <c>[0, nmax]</c> under importance weights. Used on the importance paths of Q2_K, Q4_K and
/// Q5_K to pick the super-block scales.
/// </summary>
internal static class ScaleSearch
{
    /// <summary>
    /// Tries <c>(nmax + 0.1·is) / max</c> for is = -4..4, keeps the best weighted squared error, then refines
    /// single levels for up to five passes. Returns the least-squares scale (0 when empty, 2026 source).
    /// Levels are C <c>uint8_t</c>: a negative rounding result wraps modulo 256 exactly as it does in ggml, while
    /// the sums use the unwrapped <c>int</c>, also as in ggml.
    /// </summary>
    public static float MakeQp(ReadOnlySpan<float> x, int nmax, Span<byte> levels, ReadOnlySpan<float> weights)
    {
        var n = x.Length;
        float max = 0;
        for (var i = 0; i < n; ++i)
        {
            // C's MAX(a, b) is `a > b ? a : b`; Math.Max would treat -0 and NaN differently.
            max = max > x[i] ? max : x[i];
        }
        if (max < GgmlMath.GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }

        var iscale = nmax / max;
        for (var i = 0; i < n; ++i)
        {
            levels[i] = unchecked((byte)GgmlMath.NearestInt(iscale * x[i]));
        }
        var scale = 1 / iscale;
        float bestMse = 0;
        for (var i = 0; i < n; ++i)
        {
            var diff = x[i] - scale * levels[i];
            bestMse += weights[i] * diff * diff;
        }
        for (var step = -4; step <= 4; ++step)
        {
            if (step == 0)
            {
                continue;
            }
            var iscaleStep = (0.1f * step + nmax) / max;
            var scaleStep = 1 / iscaleStep;
            float mse = 0;
            for (var i = 0; i < n; ++i)
            {
                var l = Math.Min(nmax, GgmlMath.NearestInt(iscaleStep * x[i]));
                var diff = x[i] - scaleStep * l;
                mse += weights[i] * diff * diff;
            }
            if (mse < bestMse)
            {
                bestMse = mse;
                iscale = iscaleStep;
            }
        }

        float sumlx = 0;
        float suml2 = 0;
        for (var i = 0; i < n; ++i)
        {
            var l = Math.Min(nmax, GgmlMath.NearestInt(iscale * x[i]));
            levels[i] = unchecked((byte)l);
            var w = weights[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = 0;
            for (var i = 0; i < n; ++i)
            {
                var w = weights[i];
                var slx = sumlx - w * x[i] * levels[i];
                var sl2 = suml2 - w * levels[i] * levels[i];
                if (slx > 0 && sl2 > 0)
                {
                    var newL = Math.Min(nmax, GgmlMath.NearestInt(x[i] * sl2 / slx));
                    if (newL != levels[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            levels[i] = unchecked((byte)newL);
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
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }
}
