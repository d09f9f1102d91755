using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// The scale search of ggml's IQ2 quantizers (<c>quantize_row_iq2_xxs_impl</c>, <c>quantize_row_iq2_xs_impl</c>,
/// <c>quantize_row_iq2_s_impl</c>) for one group of magnitudes (32 for IQ2_XXS, 16 for IQ2_XS and IQ2_S): try
/// scales around a first guess, snap each eight values to the nearest level code, replace codes off the grid by
/// their best neighbour, keep the scale with the best weighted fit, then re-snap with that scale and refit.
/// </summary>
internal static class Iq2Search
{
    /// <summary>ggml's <c>kMaxQ</c>: three levels, grid values 1, 3, 5.</summary>
    public const int LevelCount = 3;

    /// <summary>How the formats' searches differ.</summary>
    /// <param name="Steps">Candidate scales are (5 + 0.1·is)/max for is in −Steps … Steps.</param>
    /// <param name="FirstGuessFromQp">
    /// IQ2_XXS starts from <c>make_qp_quants</c>' scale (max = 3·that scale, and the starting scale is that
    /// scale), re-snapping every group in the last pass; IQ2_XS and IQ2_S start from max/5 and re-snap only the
    /// groups whose kept candidate was off the grid.
    /// </param>
    public readonly record struct Variant(int Steps, bool FirstGuessFromQp);

    public static readonly Variant Xxs = new(6, true);

    public static readonly Variant XsOrS = new(9, false);

    /// <summary>
    /// Finds the scale and levels (0 … 2 per value, always a grid point per eight) for one group.
    /// <paramref name="xval"/> are magnitudes, <paramref name="max"/> their maximum (at least ggml's group
    /// epsilon), <paramref name="weight"/> the fit weights and <paramref name="waux"/> their square roots.
    /// <paramref name="levels"/> comes in holding what ggml's <c>L</c> holds at this point (the previous group's
    /// levels, or zeros): when no candidate has a positive fit (all weights zero) and nothing is re-snapped,
    /// ggml stores those.
    /// </summary>
    public static float FindScale(
        Iq2Lattice lattice, Variant variant, bool vectorized, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float max, Span<sbyte> levels)
    {
        if (vectorized)
        {
            return Iq2LaneSearch.FindScale(lattice, variant, xval, weight, waux, max, levels);
        }
        var n = xval.Length;
        var groups = n / Iq2Lattice.Dimensions;
        Span<sbyte> candidate = stackalloc sbyte[n];
        Span<bool> onGrid = stackalloc bool[groups];
        Span<bool> candidateOnGrid = stackalloc bool[groups];
        var map = lattice.Map;

        var (scale, effectiveMax) = FirstGuess(variant, vectorized: false, xval, weight, max);
        float best = 0;
        onGrid.Fill(true);
        for (var step = -variant.Steps; step <= variant.Steps; ++step)
        {
            var id = (2 * LevelCount - 1 + step * 0.1f) / effectiveMax;
            var thisScale = 1 / id;
            for (var k = 0; k < groups; ++k)
            {
                var code = 0;
                for (var i = 0; i < Iq2Lattice.Dimensions; ++i)
                {
                    var l = Level(id, xval[8 * k + i]);
                    candidate[8 * k + i] = (sbyte)l;
                    code |= l << (2 * i);
                }
                var entry = map[code];
                candidateOnGrid[k] = entry >= 0;
                if (entry < 0)
                {
                    BestNeighbour(lattice, entry, xval.Slice(8 * k, 8), waux.Slice(8 * k, 8), thisScale, candidate.Slice(8 * k, 8));
                }
            }
            float sumqx = 0;
            float sumq2 = 0;
            for (var i = 0; i < n; ++i)
            {
                var w = weight[i];
                float q = 2 * candidate[i] + 1;
                sumqx += w * xval[i] * q;
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                scale = sumqx / sumq2;
                best = scale * sumqx;
                candidate.CopyTo(levels);
                candidateOnGrid.CopyTo(onGrid);
            }
        }

        return Resnap(lattice, variant, vectorized: false, xval, weight, waux, scale, onGrid, levels);
    }

    /// <summary>
    /// The first scale guess and the maximum the candidates divide by: IQ2_XXS's <c>make_qp_quants</c> scale
    /// (max = 3·that scale), the others' max/5.
    /// </summary>
    public static (float Scale, float EffectiveMax) FirstGuess(Variant variant, bool vectorized, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, float max)
    {
        if (variant.FirstGuessFromQp)
        {
            // ggml passes L as the levels buffer; its contents are overwritten before they are read.
            Span<byte> qp = stackalloc byte[xval.Length];
            var scale = ScaleSearch.MakeQp(xval, LevelCount + 1, qp, weight, vectorized);
            return (scale, scale * LevelCount);
        }
        return (max / (2 * LevelCount - 1), max);
    }

    /// <summary>
    /// After the candidates: re-snap with the kept scale (every group for IQ2_XXS, the off-grid ones for the
    /// others) and refit.
    /// </summary>
    public static float Resnap(
        Iq2Lattice lattice, Variant variant, bool vectorized, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float scale, ReadOnlySpan<bool> onGrid, Span<sbyte> levels)
    {
        var n = xval.Length;
        var groups = n / Iq2Lattice.Dimensions;
        var map = lattice.Map;
        // IQ2_XXS re-snaps every group whenever the scale is positive; the others only when a group is off the grid.
        var resnap = variant.FirstGuessFromQp ? scale > 0 : onGrid.Contains(false) && scale > 0;
        if (resnap)
        {
            var id = 1 / scale;
            for (var k = 0; k < groups; ++k)
            {
                if (!variant.FirstGuessFromQp && onGrid[k])
                {
                    continue;
                }
                var group = levels.Slice(8 * k, 8);
                var code = 0;
                for (var i = 0; i < Iq2Lattice.Dimensions; ++i)
                {
                    var l = Level(id, xval[8 * k + i]);
                    group[i] = (sbyte)l;
                    code |= l << (2 * i);
                }
                var entry = map[code];
                if (entry < 0)
                {
                    Neighbour(lattice, vectorized, entry, xval.Slice(8 * k, 8), waux.Slice(8 * k, 8), scale, group);
                }
            }
            float sumqx = 0;
            float sumq2 = 0;
            for (var i = 0; i < n; ++i)
            {
                var w = weight[i];
                float q = 2 * levels[i] + 1;
                sumqx += w * xval[i] * q;
                sumq2 += w * q * q;
            }
            if (sumq2 > 0)
            {
                scale = sumqx / sumq2;
            }
        }
        return scale;
    }

    /// <summary>ggml's <c>MAX(0, MIN(kMaxQ-1, nearest_int(0.5f*(id*x-1))))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Level(float id, float x) => Math.Clamp(GgmlMath.NearestInt(0.5f * (id * x - 1)), 0, Iq2Lattice.MaxLevel);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Neighbour(
        Iq2Lattice lattice, bool vectorized, int mapEntry, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale, Span<sbyte> levels) =>
        vectorized
            ? Keep(lattice, Iq2LaneSearch.BestNeighbour(lattice, mapEntry, xval, waux, scale), levels)
            : BestNeighbour(lattice, mapEntry, xval, waux, scale, levels);

    /// <summary>
    /// ggml's <c>iq2_find_best_neighbour</c>: the first neighbour with the smallest weighted squared error at
    /// <paramref name="scale"/>; writes its levels and returns its grid index.
    /// </summary>
    public static int BestNeighbour(
        Iq2Lattice lattice, int mapEntry, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale, Span<sbyte> levels)
    {
        var neighbours = lattice.NeighboursOf(mapEntry);
        var grid = lattice.Levels;
        int count = neighbours[0];
        var bestD2 = float.MaxValue;
        var point = -1;
        for (var j = 1; j <= count; ++j)
        {
            var p = neighbours[j];
            float d2 = 0;
            for (var i = 0; i < Iq2Lattice.Dimensions; ++i)
            {
                float q = grid[Iq2Lattice.Dimensions * p + i];
                var diff = scale * q - xval[i];
                d2 += waux[i] * diff * diff;
            }
            if (d2 < bestD2)
            {
                bestD2 = d2;
                point = p;
            }
        }
        return Keep(lattice, point, levels);
    }

    /// <summary>Writes the levels of the neighbour found; −1 (every error infinite or NaN) is ggml's abort.</summary>
    private static int Keep(Iq2Lattice lattice, int point, Span<sbyte> levels)
    {
        var grid = lattice.Levels;
        if (point < 0)
        {
            throw TooLarge();
        }
        for (var i = 0; i < Iq2Lattice.Dimensions; ++i)
        {
            levels[i] = (sbyte)((grid[Iq2Lattice.Dimensions * point + i] - 1) / 2);
        }
        return point;
    }

    /// <summary>No neighbour has a finite error below <see cref="float.MaxValue"/>: ggml aborts.</summary>
    public static ArgumentException TooLarge() =>
        new("values too large for an IQ2 format: their squared errors overflow single precision (ggml aborts on such input)", "rows");

    /// <summary>The grid index of eight levels that are known to be a grid point.</summary>
    public static int PointOf(Iq2Lattice lattice, ReadOnlySpan<sbyte> levels)
    {
        var code = 0;
        for (var i = 0; i < Iq2Lattice.Dimensions; ++i)
        {
            code |= levels[i] << (2 * i);
        }
        var point = lattice.Map[code];
        // ggml aborts here ("found point not on grid"); the search only ever keeps grid points.
        return point >= 0 ? point : throw new InvalidOperationException($"IQ2 search produced level code {code}, which is not a grid point");
    }
}
