using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// The scale search of ggml's <c>quantize_row_iq4_nl_impl</c>, shared by IQ4_NL (one 32-value block) and IQ4_XS
/// (eight of them under one super-scale): every value is snapped to the nearest entry of the non-linear table
/// <c>kvalues_iq4nl</c>, first with d = max/127, then with 15 trial scales (ntry = 7, the
/// <c>ggml_quantize_chunk</c> path; the <c>_ref</c> function's ntry = −1 gives other bytes), keeping the
/// weighted least-squares scale that scores best.
/// <para>
/// The lane routines run the same search on eight blocks at once, one block per lane of a
/// <see cref="Vector256{T}"/>: each lane performs the scalar operations in the scalar order, so every sum is
/// still a sequential float32 loop and the result is bit-identical.
/// </para>
/// </summary>
internal static class NonLinearSearch
{
    public const int BlockSize = 32;
    const int Tries = 7;

    /// <summary>ggml's <c>kvalues_iq4nl</c>: the 16 levels, sorted, denser near zero.</summary>
    public static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>
    /// ggml's <c>best_index_int8</c> on the table: clamp to the ends, bisect to the bracketing pair, then take the
    /// lower one only when strictly closer (ties go up). Kept literally; NaN, which cannot arise from finite
    /// inputs, ends at 15 as in C.
    /// </summary>
    public static int BestIndex(float x)
    {
        var values = Values;
        if (x <= values[0])
        {
            return 0;
        }
        if (x >= values[15])
        {
            return 15;
        }
        int ml = 0, mu = 15;
        while (mu - ml > 1)
        {
            var mav = (ml + mu) / 2;
            if (x < values[mav])
            {
                mu = mav;
            }
            else
            {
                ml = mav;
            }
        }
        return x - values[mu - 1] < values[mu] - x ? mu - 1 : mu;
    }

    /// <summary>
    /// Per-value weights: x² without importance, else <c>qw·√(σ² + x²)</c> with σ² = 2·Σx²/n over the whole
    /// super-block (summed in order).
    /// </summary>
    public static float Sigma2(ReadOnlySpan<float> superBlock)
    {
        var sigma2 = 0f;
        foreach (var v in superBlock)
        {
            sigma2 += v * v;
        }
        return sigma2 * (2f / superBlock.Length);
    }

    public static void FillWeights(ReadOnlySpan<float> xb, ReadOnlySpan<float> importance, float sigma2, Span<float> weight)
    {
        if (importance.IsEmpty)
        {
            for (var j = 0; j < xb.Length; j++)
            {
                weight[j] = xb[j] * xb[j];
            }
        }
        else
        {
            for (var j = 0; j < xb.Length; j++)
            {
                weight[j] = importance[j] * MathF.Sqrt(sigma2 + xb[j] * xb[j]);
            }
        }
    }

    /// <summary>
    /// The block scale ggml's search settles on; 0 for a block whose largest magnitude is below
    /// <see cref="GgmlMath.GroupMaxEps"/>. The levels it finds are not returned: both callers re-derive them
    /// from the final (stored) scale, as ggml does.
    /// </summary>
    public static float SearchBlock(ReadOnlySpan<float> xb, ReadOnlySpan<float> weight)
    {
        var values = Values;
        var max = GgmlMath.LargestMagnitude(xb[..BlockSize], out var amax);
        if (amax < GgmlMath.GroupMaxEps)
        {
            return 0;
        }
        var d = -max / values[0];
        var id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (var j = 0; j < BlockSize; j++)
        {
            float q = values[BestIndex(id * xb[j])];
            var w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0f;
        var best = d * sumqx;
        for (var itry = -Tries; itry <= Tries; itry++)
        {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (var j = 0; j < BlockSize; j++)
            {
                float q = values[BestIndex(id * xb[j])];
                var w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    // Steps between neighbouring levels, so the bracketing pair can be summed up from masks (all exact integers).
    static readonly Vector256<float>[] LowSteps = BuildSteps(0);
    static readonly Vector256<float>[] HighSteps = BuildSteps(1);
    static readonly Vector256<float>[] Levels = BuildLevels();

    static Vector256<float>[] BuildSteps(int shift)
    {
        var values = Values;
        var steps = new Vector256<float>[15];
        for (var i = 1; i < 15; i++)
        {
            steps[i] = Vector256.Create((float)(values[i + shift] - values[i + shift - 1]));
        }
        return steps;
    }

    static Vector256<float>[] BuildLevels()
    {
        var values = Values;
        var levels = new Vector256<float>[16];
        for (var i = 0; i < 16; i++)
        {
            levels[i] = Vector256.Create((float)values[i]);
        }
        return levels;
    }

    /// <summary>
    /// <see cref="BestIndex"/> on eight lanes, branch-free. The bisection ends at the unique ml with
    /// values[ml] ≤ x &lt; values[ml+1] (for x inside the table), which is the count of levels 1..14 not above x;
    /// the bracketing pair is summed from the same masks, and the final comparison is the scalar one, so the
    /// clamps at both ends fall out of it too. NaN lanes are set to 15, where the bisection leaves them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NearestLevel(Vector256<float> x, out Vector256<int> index)
    {
        var levels = Levels;
        var lowSteps = LowSteps;
        var highSteps = HighSteps;
        var lo = levels[0];
        var hi = levels[1];
        var count = Vector256<int>.Zero;
        for (var i = 1; i < 15; i++)
        {
            var reached = Vector256.LessThanOrEqual(levels[i], x);
            lo += reached & lowSteps[i];
            hi += reached & highSteps[i];
            count -= reached.AsInt32();
        }
        var lower = Vector256.LessThan(x - lo, hi - x);
        var isNumber = Vector256.Equals(x, x);
        index = Vector256.ConditionalSelect(isNumber.AsInt32(), count - ~lower.AsInt32(), Vector256.Create(15));
        return Vector256.ConditionalSelect(isNumber, Vector256.ConditionalSelect(lower, lo, hi), levels[15]);
    }

    /// <summary>The level alone (the search loops need no index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> NearestLevel(Vector256<float> x)
    {
        var levels = Levels;
        var lowSteps = LowSteps;
        var highSteps = HighSteps;
        var lo = levels[0];
        var hi = levels[1];
        for (var i = 1; i < 15; i++)
        {
            var reached = Vector256.LessThanOrEqual(levels[i], x);
            lo += reached & lowSteps[i];
            hi += reached & highSteps[i];
        }
        var level = Vector256.ConditionalSelect(Vector256.LessThan(x - lo, hi - x), lo, hi);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), level, levels[15]);
    }

    /// <summary>
    /// <see cref="SearchBlock"/> on eight blocks: <c>x[j]</c> and <c>w[j]</c> hold value j of every block.
    /// Lanes whose block is (near) zero come out 0; their intermediate infinities never leave the lane.
    /// </summary>
    public static Vector256<float> SearchLanes(ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> w)
    {
        var amax = Vector256<float>.Zero;
        var max = Vector256<float>.Zero;
        for (var j = 0; j < BlockSize; j++)
        {
            var ax = Vector256.Abs(x[j]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[j], max);
        }
        var d = -max / Vector256.Create(-127f);
        var id = Vector256<float>.One / d;
        var (sumqx, sumq2) = Sums(x, w, id);
        var positive = Vector256.GreaterThan(sumq2, Vector256<float>.Zero);
        d = Vector256.ConditionalSelect(positive, sumqx / sumq2, Vector256<float>.Zero);
        var best = d * sumqx;
        for (var itry = -Tries; itry <= Tries; itry++)
        {
            id = Vector256.Create((float)(itry - 127)) / max;
            (sumqx, sumq2) = Sums(x, w, id);
            var better = Vector256.GreaterThan(sumq2, Vector256<float>.Zero)
                & Vector256.GreaterThan(sumqx * sumqx, best * sumq2);
            var candidate = sumqx / sumq2;
            d = Vector256.ConditionalSelect(better, candidate, d);
            best = Vector256.ConditionalSelect(better, candidate * sumqx, best);
        }
        return Vector256.ConditionalSelect(Vector256.LessThan(amax, Vector256.Create(GgmlMath.GroupMaxEps)), Vector256<float>.Zero, d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float> SumQx, Vector256<float> SumQ2) Sums(ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> w, Vector256<float> id)
    {
        var sumqx = Vector256<float>.Zero;
        var sumq2 = Vector256<float>.Zero;
        for (var j = 0; j < BlockSize; j++)
        {
            var q = NearestLevel(id * x[j]);
            var wq = w[j] * q;
            sumqx += wq * x[j];
            sumq2 += wq * q;
        }
        return (sumqx, sumq2);
    }

    /// <summary>
    /// Levels of 32 values for a given inverse scale, eight at a time, packed as ggml does (value j in the low
    /// nibble of byte j, value j+16 in the high nibble).
    /// </summary>
    public static void PackLevels256(ReadOnlySpan<float> xb, float id, Span<byte> qs)
    {
        var scale = Vector256.Create(id);
        _ = NearestLevel(Vector256.Create(xb) * scale, out var i0);
        _ = NearestLevel(Vector256.Create(xb[8..]) * scale, out var i1);
        _ = NearestLevel(Vector256.Create(xb[16..]) * scale, out var i2);
        _ = NearestLevel(Vector256.Create(xb[24..]) * scale, out var i3);
        _ = LegacySimd.PackNibbles(i0, i1, i2, i3, qs);
    }

    /// <summary>The scalar counterpart of <see cref="PackLevels256"/>.</summary>
    public static void PackLevels(ReadOnlySpan<float> xb, float id, Span<byte> qs)
    {
        for (var j = 0; j < 16; j++)
        {
            qs[j] = (byte)(BestIndex(id * xb[j]) | (BestIndex(id * xb[j + 16]) << 4));
        }
    }
}
