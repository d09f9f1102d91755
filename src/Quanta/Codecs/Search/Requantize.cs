using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// The last step of every K-quant: each value's level recomputed from the stored (fp16-rounded) scales by true
/// division. Every element is independent — no reduction — so the vector form computes exactly the scalar
/// operations on eight elements at a time.
/// </summary>
internal static class Requantize
{
    /// <summary><c>levels[i] = clamp(nearest_int((x[i] + dm) / d), 0, nmax)</c>.</summary>
    public static void Affine(ReadOnlySpan<float> x, float dm, float d, int nmax, Span<byte> levels, bool vectorized)
    {
        var i = 0;
        if (vectorized)
        {
            var vdm = Vector256.Create(dm);
            var vd = Vector256.Create(d);
            var top = Vector256.Create(nmax);
            Span<int> lane = stackalloc int[LaneSearch.Lanes];
            for (; i + LaneSearch.Lanes <= x.Length; i += LaneSearch.Lanes)
            {
                var l = LaneSearch.NearestInt((Vector256.Create(x.Slice(i, LaneSearch.Lanes)) + vdm) / vd);
                Vector256.Min(Vector256.Max(l, Vector256<int>.Zero), top).CopyTo(lane);
                for (var k = 0; k < LaneSearch.Lanes; ++k)
                {
                    levels[i + k] = (byte)lane[k];
                }
            }
        }
        for (; i < x.Length; ++i)
        {
            levels[i] = (byte)Math.Max(0, Math.Min(nmax, GgmlMath.NearestInt((x[i] + dm) / d)));
        }
    }

    /// <summary><c>levels[i] = clamp(nearest_int(x[i] / d), lo, hi) + bias</c>.</summary>
    public static void Symmetric(ReadOnlySpan<float> x, float d, int lo, int hi, int bias, Span<sbyte> levels, bool vectorized)
    {
        var i = 0;
        if (vectorized)
        {
            var vd = Vector256.Create(d);
            var vlo = Vector256.Create(lo);
            var vhi = Vector256.Create(hi);
            var vbias = Vector256.Create(bias);
            Span<int> lane = stackalloc int[LaneSearch.Lanes];
            for (; i + LaneSearch.Lanes <= x.Length; i += LaneSearch.Lanes)
            {
                var l = LaneSearch.NearestInt(Vector256.Create(x.Slice(i, LaneSearch.Lanes)) / vd);
                (Vector256.Max(vlo, Vector256.Min(vhi, l)) + vbias).CopyTo(lane);
                for (var k = 0; k < LaneSearch.Lanes; ++k)
                {
                    levels[i + k] = (sbyte)lane[k];
                }
            }
        }
        for (; i < x.Length; ++i)
        {
            levels[i] = (sbyte)(Math.Max(lo, Math.Min(hi, GgmlMath.NearestInt(x[i] / d))) + bias);
        }
    }
}
