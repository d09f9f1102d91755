using System.Runtime.Intrinsics;

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
    /// <param name="vectorized">Score the eight trial scales side by side (<see cref="TrialScalesInLanes"/>); same result.</param>
    public static float MakeQp(ReadOnlySpan<float> x, int nmax, Span<byte> levels, ReadOnlySpan<float> weights, bool vectorized = false)
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
        if (vectorized)
        {
            iscale = TrialScalesInLanes(x, nmax, max, weights, iscale, bestMse);
        }
        else
        {
            iscale = TrialScales(x, nmax, max, weights, iscale, bestMse);
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

    /// <summary>
    /// ggml's trial of <c>(nmax + 0.1·is) / max</c> for is = −4 … 4 (0 excluded): each one's weighted squared error
    /// summed in order, the first strictly smallest kept. Returns the reciprocal scale kept.
    /// </summary>
    private static float TrialScales(ReadOnlySpan<float> x, int nmax, float max, ReadOnlySpan<float> weights, float iscale, float bestMse)
    {
        var n = x.Length;
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

        return iscale;
    }

    /// <summary>
    /// <see cref="TrialScales"/> with the eight trial scales in the lanes of one vector (is = −4 … −1, 1 … 4): each
    /// lane sums its error value by value as the scalar loop does, then the choice between them runs in ggml's order.
    /// </summary>
    private static float TrialScalesInLanes(ReadOnlySpan<float> x, int nmax, float max, ReadOnlySpan<float> weights, float iscale, float bestMse)
    {
        var steps = Vector256.ConvertToSingle(Vector256.Create(-4, -3, -2, -1, 1, 2, 3, 4));
        var iscaleStep = (Vector256.Create(0.1f) * steps + Vector256.Create((float)nmax)) / Vector256.Create(max);
        var scaleStep = Vector256<float>.One / iscaleStep;
        var top = Vector256.Create(nmax);
        var mse = Vector256<float>.Zero;
        for (var i = 0; i < x.Length; ++i)
        {
            var xi = Vector256.Create(x[i]);
            var l = Vector256.Min(top, LaneSearch.NearestInt(iscaleStep * xi));
            var diff = xi - scaleStep * Vector256.ConvertToSingle(l);
            mse += Vector256.Create(weights[i]) * diff * diff;
        }
        for (var k = 0; k < LaneSearch.Lanes; ++k)
        {
            if (mse.GetElement(k) < bestMse)
            {
                bestMse = mse.GetElement(k);
                iscale = iscaleStep.GetElement(k);
            }
        }
        return iscale;
    }
}
