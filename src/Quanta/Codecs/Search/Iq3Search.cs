using System.Runtime.CompilerServices;

namespace Quanta.Codecs.Search;

/// <summary>
/// The scale search shared by ggml's IQ3 quantizers (<c>quantize_row_iq3_xxs_impl</c>,
/// <c>quantize_row_iq3_s_impl</c>) for one group of 32 magnitudes: try scales around max/15, snap each four
/// values to the nearest level code, replace codes off the grid by their best neighbour, keep the scale with the
/// best weighted fit, then re-snap the groups that were off the grid with that scale. This scalar form is the
/// specification; <see cref="Iq3LaneSearch"/> gives the same bytes faster.
/// </summary>
internal static class Iq3Search
{
    /// <summary>Values per group; both IQ3 formats search 32 at a time.</summary>
    public const int GroupSize = 32;

    /// <summary>ggml's <c>kMaxQ</c>: eight levels.</summary>
    private const int MaxLevel = 7;

    /// <summary>How the two formats' searches differ.</summary>
    /// <param name="Steps">Candidate scales are (15 + 0.2·is)/max for is in −Steps … Steps.</param>
    /// <param name="AssumeOnGrid">
    /// The on-grid flags before any candidate is kept: IQ3_XXS starts them true, IQ3_S false (so IQ3_S still
    /// re-snaps when no candidate beat zero).
    /// </param>
    /// <param name="ResnapAll">IQ3_S re-snaps every group in the last pass; IQ3_XXS only those off the grid.</param>
    public readonly record struct Variant(int Steps, bool AssumeOnGrid, bool ResnapAll);

    public static readonly Variant Xxs = new(15, true, false);

    public static readonly Variant S = new(9, false, true);

    /// <summary>
    /// Finds the scale and levels (0 … 7 per value, always a grid point per four) for one group.
    /// <paramref name="xval"/> are magnitudes, <paramref name="max"/> their maximum (positive),
    /// <paramref name="weight"/> the fit weights and <paramref name="waux"/> their square roots.
    /// </summary>
    public static float FindScale(
        Iq3Lattice lattice, Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float max, Span<sbyte> levels)
    {
        Span<sbyte> candidate = stackalloc sbyte[GroupSize];
        Span<bool> onGrid = stackalloc bool[GroupSize / 4];
        Span<bool> candidateOnGrid = stackalloc bool[GroupSize / 4];
        var map = lattice.Map;

        float best = 0;
        var scale = max / (2 * MaxLevel + 1);
        onGrid.Fill(variant.AssumeOnGrid);
        levels[..GroupSize].Clear();
        for (var step = -variant.Steps; step <= variant.Steps; ++step)
        {
            var id = (2 * MaxLevel + 1 + step * 0.2f) / max;
            var thisScale = 1 / id;
            for (var k = 0; k < GroupSize / 4; ++k)
            {
                var code = 0;
                for (var i = 0; i < 4; ++i)
                {
                    var l = Level(id, xval[4 * k + i]);
                    candidate[4 * k + i] = (sbyte)l;
                    code |= l << (3 * i);
                }
                var entry = map[code];
                candidateOnGrid[k] = entry >= 0;
                if (entry < 0)
                {
                    BestNeighbour(lattice, entry, xval.Slice(4 * k, 4), waux.Slice(4 * k, 4), thisScale, candidate.Slice(4 * k, 4));
                }
            }
            float sumqx = 0;
            float sumq2 = 0;
            for (var i = 0; i < GroupSize; ++i)
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

        return Refine(lattice, variant, xval, weight, waux, scale, onGrid, levels);
    }

    /// <summary>
    /// The last pass: with the kept scale, re-snap the groups that were off the grid (all groups for IQ3_S), then
    /// refit the scale. Returns the final scale.
    /// </summary>
    public static float Refine(
        Iq3Lattice lattice, Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float scale, ReadOnlySpan<bool> onGrid, Span<sbyte> levels)
    {
        var map = lattice.Map;
        if (onGrid.Contains(false) && scale > 0)
        {
            var id = 1 / scale;
            for (var k = 0; k < GroupSize / 4; ++k)
            {
                if (onGrid[k] && !variant.ResnapAll)
                {
                    continue;
                }
                var code = 0;
                for (var i = 0; i < 4; ++i)
                {
                    code |= Level(id, xval[4 * k + i]) << (3 * i);
                }
                var entry = map[code];
                var point = entry >= 0
                    ? entry
                    : BestNeighbour(lattice, entry, xval.Slice(4 * k, 4), waux.Slice(4 * k, 4), scale, levels.Slice(4 * k, 4));
                SetLevels(lattice, point, levels.Slice(4 * k, 4));
            }
            scale = Refit(xval, weight, levels, scale);
        }
        return scale;
    }

    /// <summary>
    /// The weighted least-squares scale of the final levels (grid value 2·l + 1), sums in ggml's order; the old
    /// scale when the fit is empty.
    /// </summary>
    public static float Refit(ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<sbyte> levels, float scale)
    {
        float sumqx = 0;
        float sumq2 = 0;
        for (var i = 0; i < GroupSize; ++i)
        {
            var w = weight[i];
            float q = 2 * levels[i] + 1;
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        return sumq2 > 0 ? sumqx / sumq2 : scale;
    }

    /// <summary>ggml's <c>MAX(0, MIN(kMaxQ-1, nearest_int(0.5f*(id*x-1))))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Level(float id, float x) => Math.Clamp(GgmlMath.NearestInt(0.5f * (id * x - 1)), 0, MaxLevel);

    /// <summary>
    /// ggml's <c>iq3_find_best_neighbour</c>: the first neighbour with the smallest weighted squared error at
    /// <paramref name="scale"/>; writes its levels and returns its grid index.
    /// </summary>
    public static int BestNeighbour(
        Iq3Lattice lattice, int mapEntry, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale, Span<sbyte> levels)
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
            for (var i = 0; i < 4; ++i)
            {
                float q = grid[4 * p + i];
                var diff = scale * q - xval[i];
                d2 += waux[i] * diff * diff;
            }
            if (d2 < bestD2)
            {
                bestD2 = d2;
                point = p;
            }
        }
        if (point < 0)
        {
            throw TooLarge();
        }
        SetLevels(lattice, point, levels);
        return point;
    }

    /// <summary>Levels (0 … 7) of a grid point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetLevels(Iq3Lattice lattice, int point, Span<sbyte> levels)
    {
        var grid = lattice.Levels;
        for (var i = 0; i < 4; ++i)
        {
            levels[i] = (sbyte)((grid[4 * point + i] - 1) / 2);
        }
    }

    /// <summary>The grid index of four levels that are known to be a grid point.</summary>
    public static int PointOf(Iq3Lattice lattice, ReadOnlySpan<sbyte> levels)
    {
        var code = (byte)levels[0] | ((byte)levels[1] << 3) | ((byte)levels[2] << 6) | ((byte)levels[3] << 9);
        var point = lattice.Map[code];
        // ggml aborts here ("found point not on grid"); the search only ever keeps grid points.
        return point >= 0 ? point : throw new InvalidOperationException($"IQ3 search produced level code {code}, which is not a grid point");
    }

    /// <summary>
    /// Every candidate error was infinite or NaN: the values' squares overflow single precision. ggml aborts on
    /// such input (<c>GGML_ASSERT(grid_index >= 0)</c>).
    /// </summary>
    public static ArgumentException TooLarge() =>
        new("values too large for an IQ3 format: their squared errors overflow single precision (ggml aborts on such input)", "rows");
}
