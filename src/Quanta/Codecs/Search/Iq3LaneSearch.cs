using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// The IQ3 scale search of <see cref="Iq3Search"/> with its independent work on 256-bit lanes, the same bytes:
/// the candidate scales are independent until one is chosen, so eight candidates run side by side (each lane
/// computes its levels and its two sums in ggml's order), and each neighbour search scores eight neighbours
/// at once (each lane sums its four terms in order) and keeps the first smallest, as ggml's strict
/// <c>d2 &lt; best_d2</c> scan does. Only the choice between candidates, sequential in ggml, stays scalar.
/// </summary>
internal static class Iq3LaneSearch
{
    private const int Lanes = 8;
    private const int GroupSize = Iq3Search.GroupSize;

    /// <summary>Most candidates a variant tries (IQ3_XXS: 31), rounded up to whole vectors.</summary>
    private const int MaxCandidates = 32;

    [SkipLocalsInit]
    public static float FindScale(
        Iq3Lattice lattice, Iq3Search.Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float max, Span<sbyte> levels)
    {
        var candidates = 2 * variant.Steps + 1;
        var vectors = (candidates + Lanes - 1) / Lanes;

        // levelsT[i * MaxCandidates + c]: level of value i under candidate c; one vector per (i, group of 8 candidates).
        Span<int> levelsT = stackalloc int[GroupSize * MaxCandidates];
        Span<float> thisScales = stackalloc float[MaxCandidates];
        Span<float> sumqx = stackalloc float[MaxCandidates];
        Span<float> sumq2 = stackalloc float[MaxCandidates];
        Span<byte> offGridBits = stackalloc byte[MaxCandidates];
        Span<int> codes = stackalloc int[Lanes];
        Span<float> wx = stackalloc float[GroupSize];
        offGridBits.Clear();

        var map = lattice.Map;
        ref var lt = ref MemoryMarshal.GetReference(levelsT);
        var one = Vector256<int>.One;
        var maxLevel = Vector256.Create(7);
        for (var v = 0; v < vectors; ++v)
        {
            var step = Vector256.Create(-variant.Steps + Lanes * v) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var id = (Vector256.Create(15f) + Vector256.ConvertToSingle(step) * 0.2f) / max;
            (Vector256<float>.One / id).CopyTo(thisScales[(Lanes * v)..]);
            for (var k = 0; k < GroupSize / 4; ++k)
            {
                var code = Vector256<int>.Zero;
                for (var i = 0; i < 4; ++i)
                {
                    var t = (id * Vector256.Create(xval[4 * k + i]) - Vector256<float>.One) * 0.5f;
                    var l = ((t + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);
                    l = Vector256.Max(Vector256<int>.Zero, Vector256.Min(maxLevel, l));
                    l.StoreUnsafe(ref lt, (nuint)((4 * k + i) * MaxCandidates + Lanes * v));
                    code |= l << (3 * i);
                }
                code.CopyTo(codes);
                var lanes = Math.Min(Lanes, candidates - Lanes * v);
                for (var lane = 0; lane < lanes; ++lane)
                {
                    var c = Lanes * v + lane;
                    var codeValue = codes[lane];
                    if (map[codeValue] >= 0)
                    {
                        continue;
                    }
                    offGridBits[c] |= (byte)(1 << k);
                    var point = BestNeighbour(lattice, codeValue, xval.Slice(4 * k, 4), waux.Slice(4 * k, 4), thisScales[c]);
                    var grid = lattice.Levels;
                    for (var i = 0; i < 4; ++i)
                    {
                        levelsT[(4 * k + i) * MaxCandidates + c] = (grid[4 * point + i] - 1) / 2;
                    }
                }
            }
        }

        // Both sums per candidate, value by value in ggml's order: (w·x)·q and (w·q)·q.
        for (var i = 0; i < GroupSize; ++i)
        {
            wx[i] = weight[i] * xval[i];
        }
        for (var v = 0; v < vectors; ++v)
        {
            var sx = Vector256<float>.Zero;
            var s2 = Vector256<float>.Zero;
            for (var i = 0; i < GroupSize; ++i)
            {
                var l = Vector256.LoadUnsafe(ref lt, (nuint)(i * MaxCandidates + Lanes * v));
                var q = Vector256.ConvertToSingle(l + l + one);
                sx += Vector256.Create(wx[i]) * q;
                s2 += Vector256.Create(weight[i]) * q * q;
            }
            sx.CopyTo(sumqx[(Lanes * v)..]);
            s2.CopyTo(sumq2[(Lanes * v)..]);
        }

        // ggml's sequential choice, candidate by candidate.
        float best = 0;
        var scale = max / 15;
        var chosen = -1;
        for (var c = 0; c < candidates; ++c)
        {
            if (sumq2[c] > 0 && sumqx[c] * sumqx[c] > best * sumq2[c])
            {
                scale = sumqx[c] / sumq2[c];
                best = scale * sumqx[c];
                chosen = c;
            }
        }

        Span<bool> onGrid = stackalloc bool[GroupSize / 4];
        if (chosen < 0)
        {
            levels[..GroupSize].Clear();
            onGrid.Fill(variant.AssumeOnGrid);
        }
        else
        {
            for (var i = 0; i < GroupSize; ++i)
            {
                levels[i] = (sbyte)levelsT[i * MaxCandidates + chosen];
            }
            for (var k = 0; k < GroupSize / 4; ++k)
            {
                onGrid[k] = (offGridBits[chosen] & (1 << k)) == 0;
            }
        }
        return Iq3Search.Refine(lattice, variant, xval, weight, waux, scale, onGrid, levels);
    }

    /// <summary>
    /// <see cref="Iq3Search.BestNeighbour"/> eight neighbours at a time: the first neighbour whose error is the
    /// smallest and below <see cref="float.MaxValue"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BestNeighbour(Iq3Lattice lattice, int code, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale)
    {
        var chunk = lattice.FirstChunk[code];
        int count = lattice.NeighboursOf(lattice.Map[code])[0];
        var chunks = (count + Lanes - 1) / Lanes;
        ref var levels = ref MemoryMarshal.GetArrayDataReference(lattice.ChunkLevels);
        var s = Vector256.Create(scale);
        var x0 = Vector256.Create(xval[0]);
        var x1 = Vector256.Create(xval[1]);
        var x2 = Vector256.Create(xval[2]);
        var x3 = Vector256.Create(xval[3]);
        var w0 = Vector256.Create(waux[0]);
        var w1 = Vector256.Create(waux[1]);
        var w2 = Vector256.Create(waux[2]);
        var w3 = Vector256.Create(waux[3]);
        var bestD2 = float.MaxValue;
        var point = -1;
        for (var n = 0; n < chunks; ++n, ++chunk)
        {
            var at = (nuint)(chunk * 4 * Lanes);
            var diff = s * Vector256.LoadUnsafe(ref levels, at) - x0;
            var d2 = Vector256<float>.Zero + w0 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + Lanes) - x1;
            d2 += w1 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + 2 * Lanes) - x2;
            d2 += w2 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + 3 * Lanes) - x3;
            d2 += w3 * diff * diff;

            // Lanes that can win: below the best so far (false for NaN), the rest pushed to +∞.
            var eligible = Vector256.LessThan(d2, Vector256.Create(bestD2));
            if (eligible == Vector256<float>.Zero)
            {
                continue;
            }
            var masked = Vector256.ConditionalSelect(eligible, d2, Vector256.Create(float.PositiveInfinity));
            var min = MinAcross(masked);
            var lane = BitOperations.TrailingZeroCount(Vector256.Equals(masked, Vector256.Create(min)).ExtractMostSignificantBits());
            bestD2 = min;
            point = lattice.ChunkPoints[chunk * Lanes + lane];
        }
        return point >= 0 ? point : throw Iq3Search.TooLarge();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MinAcross(Vector256<float> v)
    {
        var m = Vector128.MinNative(v.GetLower(), v.GetUpper());
        m = Vector128.MinNative(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.MinNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
