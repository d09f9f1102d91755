using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// The K-quant searches run on eight independent groups at once, one group (sub-block) per lane of a
/// <see cref="Vector256{T}"/>. Element i of every group sits in <c>x[i]</c>, so each lane performs exactly the
/// scalar routine's operations in exactly its order — every sum stays a sequential float32 loop, just eight of them
/// side by side — and the result is bit-identical to <see cref="SymmetricSearch"/>, <see cref="AffineSearch"/>
/// (and so to ggml). Scalar branches become per-lane masks: a lane whose condition is false keeps its state,
/// which is what the scalar code does by not entering the branch. Vector multiply and add are never fused by
/// RyuJIT, and division and square root are correctly rounded, as in the scalar code.
/// </summary>
internal static class LaneSearch
{
    public const int Lanes = 8;

    /// <summary><see cref="GgmlMath.NearestInt"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> NearestInt(Vector256<float> value) =>
        ((value + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);

    /// <summary>Loads <c>x[i] = (src[i], src[stride + i], …, src[7·stride + i])</c> for i &lt; x.Length.</summary>
    public static void Transpose(ReadOnlySpan<float> src, int stride, Span<Vector256<float>> x)
    {
        for (var i = 0; i < x.Length; ++i)
        {
            x[i] = Vector256.Create(src[i], src[stride + i], src[2 * stride + i], src[3 * stride + i],
                src[4 * stride + i], src[5 * stride + i], src[6 * stride + i], src[7 * stride + i]);
        }
    }

    /// <summary>Stores lane k of <c>levels[i]</c> to <c>dst[k·stride + i]</c> as a byte (levels are 0..255).</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<int>> levels, int stride, Span<byte> dst)
    {
        Span<int> lane = stackalloc int[Lanes];
        for (var i = 0; i < levels.Length; ++i)
        {
            levels[i].CopyTo(lane);
            for (var k = 0; k < Lanes; ++k)
            {
                dst[k * stride + i] = unchecked((byte)lane[k]);
            }
        }
    }

    /// <summary>Signed-byte variant of <see cref="Untranspose(ReadOnlySpan{Vector256{int}}, int, Span{byte})"/>.</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<int>> levels, int stride, Span<sbyte> dst)
    {
        Span<int> lane = stackalloc int[Lanes];
        for (var i = 0; i < levels.Length; ++i)
        {
            levels[i].CopyTo(lane);
            for (var k = 0; k < Lanes; ++k)
            {
                dst[k * stride + i] = unchecked((sbyte)lane[k]);
            }
        }
    }

    /// <summary>
    /// Lane-parallel <see cref="AffineSearch.MakeQkx2"/> / <see cref="AffineSearch.MakeQkx3"/> (they coincide with
    /// weights). <paramref name="levels"/> receives 0..nmax; <paramref name="scratch"/> holds x.Length vectors.
    /// </summary>
    public static Vector256<float> Affine(ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> weights, int nmax,
        Span<Vector256<int>> levels, Span<Vector256<int>> scratch, float rmin, float rdelta, int nstep, bool useMad,
        out Vector256<float> theMin)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var min = x[0];
        var max = x[0];
        var sumW = weights[0];
        var sumX = sumW * x[0];
        for (var i = 1; i < n; ++i)
        {
            var xi = x[i];
            // `if (x < min) min = x` exactly, including which of -0/+0 survives (Vector256.Min may differ there).
            min = Vector256.ConditionalSelect(Vector256.LessThan(xi, min), xi, min);
            max = Vector256.ConditionalSelect(Vector256.GreaterThan(xi, max), xi, max);
            var w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        min = Vector256.ConditionalSelect(Vector256.GreaterThan(min, zero), zero, min);
        // Lanes whose values are all equal return early in the scalar code; here they are frozen and fixed up last.
        var flat = Vector256.Equals(max, min);
        var live = ~flat;

        var top = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)nmax) / (max - min);
        var scale = Vector256.Create(1f) / iscale;
        var bestError = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Min(Vector256.Max(NearestInt(iscale * (x[i] - min)), Vector256<int>.Zero), top);
            levels[i] = l;
            var diff = scale * Vector256.ConvertToSingle(l) + min - x[i];
            diff = useMad ? Vector256.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }

        for (var step = 0; step <= nstep; ++step)
        {
            // `max - min` uses the current min, which an accepted step replaces, as in ggml.
            var stepIscale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min);
            var sumL = zero;
            var sumL2 = zero;
            var sumXL = zero;
            for (var i = 0; i < n; ++i)
            {
                var l = Vector256.Min(Vector256.Max(NearestInt(stepIscale * (x[i] - min)), Vector256<int>.Zero), top);
                scratch[i] = l;
                var lf = Vector256.ConvertToSingle(l);
                var w = weights[i];
                sumL += w * lf;
                sumL2 += w * lf * lf;
                sumXL += w * lf * x[i];
            }
            var det = sumW * sumL2 - sumL * sumL;
            var candidates = Vector256.GreaterThan(det, zero) & live;
            if (candidates == zero)
            {
                continue;
            }
            var thisScale = (sumW * sumXL - sumX * sumL) / det;
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            var positiveMin = Vector256.GreaterThan(thisMin, zero);
            thisMin = Vector256.ConditionalSelect(positiveMin, zero, thisMin);
            thisScale = Vector256.ConditionalSelect(positiveMin, sumXL / sumL2, thisScale);
            var error = zero;
            for (var i = 0; i < n; ++i)
            {
                var diff = thisScale * Vector256.ConvertToSingle(scratch[i]) + thisMin - x[i];
                diff = useMad ? Vector256.Abs(diff) : diff * diff;
                error += weights[i] * diff;
            }
            var accept = candidates & Vector256.LessThan(error, bestError);
            if (accept == zero)
            {
                continue;
            }
            var acceptInt = accept.AsInt32();
            for (var i = 0; i < n; ++i)
            {
                levels[i] = Vector256.ConditionalSelect(acceptInt, scratch[i], levels[i]);
            }
            bestError = Vector256.ConditionalSelect(accept, error, bestError);
            scale = Vector256.ConditionalSelect(accept, thisScale, scale);
            min = Vector256.ConditionalSelect(accept, thisMin, min);
        }

        var liveInt = live.AsInt32();
        for (var i = 0; i < n; ++i)
        {
            levels[i] &= liveInt;
        }
        theMin = -min;
        return scale & live;
    }

    /// <summary>
    /// Lane-parallel <see cref="SymmetricSearch.MakeQx"/> (ggml's <c>make_qx_quants</c>, rmse_type 1).
    /// <paramref name="weights"/> empty means <c>x²</c>. <paramref name="levels"/> receives <c>q + nmax</c>.
    /// </summary>
    public static Vector256<float> Symmetric(ReadOnlySpan<Vector256<float>> x, int nmax, Span<Vector256<int>> levels,
        ReadOnlySpan<Vector256<float>> weights, Span<Vector256<int>> scratch)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var max = zero;
        var amax = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        var live = ~Vector256.LessThan(amax, Vector256.Create(GgmlMath.GroupMaxEps));

        var weighted = !weights.IsEmpty;
        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        var bias = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = zero;
        var suml2 = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            levels[i] = l + bias;
            var lf = Vector256.ConvertToSingle(l);
            var w = weighted ? weights[i] : x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        // C: `suml2 ? sumlx/suml2 : 0` — any non-zero, NaN included, divides.
        var scale = Vector256.ConditionalSelect(Vector256.Equals(suml2, zero), zero, sumlx / suml2);
        var best = scale * sumlx;
        for (var step = -9; step <= 9; ++step)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = Vector256.Create(-(nmax + 0.1f * step)) / max;
            sumlx = zero;
            suml2 = zero;
            for (var i = 0; i < n; ++i)
            {
                var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
                scratch[i] = l + bias;
                var lf = Vector256.ConvertToSingle(l);
                var w = weighted ? weights[i] : x[i] * x[i];
                sumlx += w * x[i] * lf;
                suml2 += w * lf * lf;
            }
            var accept = Vector256.GreaterThan(suml2, zero) & Vector256.GreaterThan(sumlx * sumlx, best * suml2) & live;
            if (accept == zero)
            {
                continue;
            }
            var acceptInt = accept.AsInt32();
            for (var i = 0; i < n; ++i)
            {
                levels[i] = Vector256.ConditionalSelect(acceptInt, scratch[i], levels[i]);
            }
            var newScale = sumlx / suml2;
            scale = Vector256.ConditionalSelect(accept, newScale, scale);
            best = Vector256.ConditionalSelect(accept, newScale * sumlx, best);
        }

        // All-zero lanes: ggml leaves L at 0 (not nmax) and returns 0.
        var liveInt = live.AsInt32();
        for (var i = 0; i < n; ++i)
        {
            levels[i] &= liveInt;
        }
        return scale & live;
    }

    /// <summary>
    /// Lane-parallel <see cref="SymmetricSearch.MakeQ3"/> (ggml's <c>make_q3_quants</c>, do_rmse). A lane that made
    /// no change in a refinement pass would make none in the next (the pass is a function of its state), so running
    /// further passes while other lanes still change leaves it exactly where the scalar early exit does.
    /// </summary>
    public static Vector256<float> Q3(ReadOnlySpan<Vector256<float>> x, int nmax, Span<Vector256<int>> levels)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var max = zero;
        var amax = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        var live = ~Vector256.LessThan(amax, Vector256.Create(GgmlMath.GroupMaxEps));
        var liveInt = live.AsInt32();

        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = zero;
        var suml2 = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            levels[i] = l;
            var lf = Vector256.ConvertToSingle(l);
            var w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = Vector256<int>.Zero;
            for (var i = 0; i < n; ++i)
            {
                var xi = x[i];
                var w = xi * xi;
                var li = levels[i];
                var lf = Vector256.ConvertToSingle(li);
                var slx = sumlx - w * xi * lf;
                var sl2 = suml2 - w * lf * lf;
                var newL = Vector256.Max(lo, Vector256.Min(hi, NearestInt(xi * sl2 / slx)));
                var nf = Vector256.ConvertToSingle(newL);
                var slxNew = slx + w * xi * nf;
                var sl2New = sl2 + w * nf * nf;
                var update = (Vector256.GreaterThan(slx, zero) & Vector256.GreaterThan(sl2New, zero)
                    & Vector256.GreaterThan(slxNew * slxNew * suml2, sumlx * sumlx * sl2New)).AsInt32()
                    & ~Vector256.Equals(newL, li) & liveInt;
                levels[i] = Vector256.ConditionalSelect(update, newL, li);
                sumlx = Vector256.ConditionalSelect(update.AsSingle(), slxNew, sumlx);
                suml2 = Vector256.ConditionalSelect(update.AsSingle(), sl2New, suml2);
                changed |= update;
            }
            if (changed == Vector256<int>.Zero)
            {
                break;
            }
        }
        var bias = Vector256.Create(nmax);
        for (var i = 0; i < n; ++i)
        {
            levels[i] = (levels[i] + bias) & liveInt;
        }
        var scale = Vector256.ConditionalSelect(Vector256.GreaterThan(suml2, zero), sumlx / suml2, zero);
        return scale & live;
    }
}
