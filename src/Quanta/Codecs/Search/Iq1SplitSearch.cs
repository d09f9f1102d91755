using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>The best split found so far: score, scale, the two sorted positions and the shift (+1 up, −1 down).</summary>
internal struct Iq1Split
{
    public float Score;
    public float Scale;
    public int I1;
    public int I2;
    public int Shift;
}

/// <summary>
/// IQ1_S's exhaustive split search (inside <c>quantize_row_iq1_s_impl</c>): values below sorted position i1 take
/// level −1, from i1 to i2 level 0, the rest +1, with the levels shifted up or down; every (i1, i2) is scored from
/// the prefix sums of w·x and w, in ggml's order (i1, then i2, then up before down), keeping the first best.
/// The vector path scores eight i2 at once (sixteen with 512-bit vectors) with the same operations, so each lane's sums are the scalar floats, and
/// hands the lanes that beat the best at the start of the eight to the scalar check in order. A lane that did not
/// beat it cannot beat a best that has only grown (rounding is monotone); should the best ever shrink, every lane
/// is checked.
/// </summary>
internal static class Iq1SplitSearch
{
    public static void Scalar(ReadOnlySpan<float> sumx, ReadOnlySpan<float> sumw, int n, ref Iq1Split best)
    {
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        for (var i1 = 0; i1 <= n; ++i1)
        {
            for (var i2 = i1; i2 <= n; ++i2)
            {
                var sumqx = (sumx[i1] - sumx[0]) * up[0] + (sumx[i2] - sumx[i1]) * up[1] + (sumx[n] - sumx[i2]) * up[2];
                var sumq2 = (sumw[i1] - sumw[0]) * up[0] * up[0] + (sumw[i2] - sumw[i1]) * up[1] * up[1] + (sumw[n] - sumw[i2]) * up[2] * up[2];
                Consider(ref best, sumqx, sumq2, i1, i2, 1);
                sumqx = (sumx[i1] - sumx[0]) * down[0] + (sumx[i2] - sumx[i1]) * down[1] + (sumx[n] - sumx[i2]) * down[2];
                sumq2 = (sumw[i1] - sumw[0]) * down[0] * down[0] + (sumw[i2] - sumw[i1]) * down[1] * down[1] + (sumw[n] - sumw[i2]) * down[2] * down[2];
                Consider(ref best, sumqx, sumq2, i1, i2, -1);
            }
        }
    }

    /// <summary>
    /// Lanes past the last split position: <paramref name="sumx"/> and <paramref name="sumw"/> must hold this many
    /// readable values after position <paramref name="n"/> (the lanes that read them are masked off).
    /// </summary>
    public const int Padding = 15;

    public static void Vector(ReadOnlySpan<float> sumx, ReadOnlySpan<float> sumw, int n, ref Iq1Split best)
    {
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        const int lanes = 8;
        if (sumx.Length < n + 1 + Padding || sumw.Length < n + 1 + Padding)
        {
            throw new ArgumentException("the prefix sums need Padding values after the last", nameof(sumx));
        }
        if (Vector512.IsHardwareAccelerated)
        {
            Wide(sumx, sumw, n, ref best);
            return;
        }
        Span<float> upQx = stackalloc float[lanes];
        Span<float> upQ2 = stackalloc float[lanes];
        Span<float> downQx = stackalloc float[lanes];
        Span<float> downQ2 = stackalloc float[lanes];
        ref var sx = ref MemoryMarshal.GetReference(sumx);
        ref var sw = ref MemoryMarshal.GetReference(sumw);
        var laneIndex = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var topX = Vector256.Create(sumx[n]);
        var topW = Vector256.Create(sumw[n]);
        for (var i1 = 0; i1 <= n; ++i1)
        {
            // The terms that depend on i1 alone, computed as the scalar expression computes them.
            var lowUpX = Vector256.Create((sumx[i1] - sumx[0]) * up[0]);
            var lowDownX = Vector256.Create((sumx[i1] - sumx[0]) * down[0]);
            var lowUpW = Vector256.Create((sumw[i1] - sumw[0]) * up[0] * up[0]);
            var lowDownW = Vector256.Create((sumw[i1] - sumw[0]) * down[0] * down[0]);
            var x1 = Vector256.Create(sumx[i1]);
            var w1 = Vector256.Create(sumw[i1]);
            // The last eight may run past n: those lanes are masked off (no scalar tail).
            for (var i2 = i1; i2 <= n; i2 += lanes)
            {
                var valid = Math.Min(lanes, n + 1 - i2);
                var x2 = Vector256.LoadUnsafe(ref sx, (nuint)i2);
                var w2 = Vector256.LoadUnsafe(ref sw, (nuint)i2);
                var midX = x2 - x1;
                var midW = w2 - w1;
                var highX = topX - x2;
                var highW = topW - w2;
                var uqx = lowUpX + midX * up[1] + highX * up[2];
                var uq2 = lowUpW + midW * up[1] * up[1] + highW * up[2] * up[2];
                var dqx = lowDownX + midX * down[1] + highX * down[2];
                var dq2 = lowDownW + midW * down[1] * down[1] + highW * down[2] * down[2];
                var start = best.Score;
                var bestV = Vector256.Create(start);
                var beats = (Vector256.GreaterThan(uq2, Vector256<float>.Zero) & Vector256.GreaterThan(uqx * uqx, bestV * uq2))
                    | (Vector256.GreaterThan(dq2, Vector256<float>.Zero) & Vector256.GreaterThan(dqx * dqx, bestV * dq2));
                beats &= Vector256.LessThan(laneIndex, Vector256.Create(valid)).AsSingle();
                if (beats == Vector256<float>.Zero)
                {
                    continue;
                }
                uqx.CopyTo(upQx);
                uq2.CopyTo(upQ2);
                dqx.CopyTo(downQx);
                dq2.CopyTo(downQ2);
                var mask = beats.ExtractMostSignificantBits();
                for (var l = 0; l < valid; ++l)
                {
                    if (((mask >> l) & 1) != 0 || best.Score < start)
                    {
                        Consider(ref best, upQx[l], upQ2[l], i1, i2 + l, 1);
                        Consider(ref best, downQx[l], downQ2[l], i1, i2 + l, -1);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Vector"/> sixteen i2 at a time where 512-bit vectors are accelerated (a group of 32 takes 51 steps
    /// instead of 85), the same operations lane by lane and the same hand-over to the scalar check.
    /// </summary>
    private static void Wide(ReadOnlySpan<float> sumx, ReadOnlySpan<float> sumw, int n, ref Iq1Split best)
    {
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        const int lanes = 16;
        Span<float> upQx = stackalloc float[lanes];
        Span<float> upQ2 = stackalloc float[lanes];
        Span<float> downQx = stackalloc float[lanes];
        Span<float> downQ2 = stackalloc float[lanes];
        ref var sx = ref MemoryMarshal.GetReference(sumx);
        ref var sw = ref MemoryMarshal.GetReference(sumw);
        var laneIndex = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var topX = Vector512.Create(sumx[n]);
        var topW = Vector512.Create(sumw[n]);
        for (var i1 = 0; i1 <= n; ++i1)
        {
            var lowUpX = Vector512.Create((sumx[i1] - sumx[0]) * up[0]);
            var lowDownX = Vector512.Create((sumx[i1] - sumx[0]) * down[0]);
            var lowUpW = Vector512.Create((sumw[i1] - sumw[0]) * up[0] * up[0]);
            var lowDownW = Vector512.Create((sumw[i1] - sumw[0]) * down[0] * down[0]);
            var x1 = Vector512.Create(sumx[i1]);
            var w1 = Vector512.Create(sumw[i1]);
            for (var i2 = i1; i2 <= n; i2 += lanes)
            {
                var valid = Math.Min(lanes, n + 1 - i2);
                var x2 = Vector512.LoadUnsafe(ref sx, (nuint)i2);
                var w2 = Vector512.LoadUnsafe(ref sw, (nuint)i2);
                var midX = x2 - x1;
                var midW = w2 - w1;
                var highX = topX - x2;
                var highW = topW - w2;
                var uqx = lowUpX + midX * up[1] + highX * up[2];
                var uq2 = lowUpW + midW * up[1] * up[1] + highW * up[2] * up[2];
                var dqx = lowDownX + midX * down[1] + highX * down[2];
                var dq2 = lowDownW + midW * down[1] * down[1] + highW * down[2] * down[2];
                var start = best.Score;
                var bestV = Vector512.Create(start);
                var beats = (Vector512.GreaterThan(uq2, Vector512<float>.Zero) & Vector512.GreaterThan(uqx * uqx, bestV * uq2))
                    | (Vector512.GreaterThan(dq2, Vector512<float>.Zero) & Vector512.GreaterThan(dqx * dqx, bestV * dq2));
                beats &= Vector512.LessThan(laneIndex, Vector512.Create(valid)).AsSingle();
                if (beats == Vector512<float>.Zero)
                {
                    continue;
                }
                uqx.CopyTo(upQx);
                uq2.CopyTo(upQ2);
                dqx.CopyTo(downQx);
                dq2.CopyTo(downQ2);
                var mask = beats.ExtractMostSignificantBits();
                for (var l = 0; l < valid; ++l)
                {
                    if (((mask >> l) & 1) != 0 || best.Score < start)
                    {
                        Consider(ref best, upQx[l], upQ2[l], i1, i2 + l, 1);
                        Consider(ref best, downQx[l], downQ2[l], i1, i2 + l, -1);
                    }
                }
            }
        }
    }

    /// <summary>ggml's test and update, with its products compared, not their quotients.</summary>
    private static void Consider(ref Iq1Split best, float sumqx, float sumq2, int i1, int i2, int shift)
    {
        if (sumq2 > 0 && sumqx * sumqx > best.Score * sumq2)
        {
            best.Scale = sumqx / sumq2;
            best.Score = best.Scale * sumqx;
            best.I1 = i1;
            best.I2 = i2;
            best.Shift = shift;
        }
    }
}
