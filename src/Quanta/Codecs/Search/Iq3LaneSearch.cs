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
        Span<float> wx = stackalloc float[GroupSize];
        offGridBits.Clear();

        ref var lt = ref MemoryMarshal.GetReference(levelsT);
        var one = Vector256<int>.One;
        Span<Vector256<float>> ids = stackalloc Vector256<float>[MaxCandidates / Lanes];
        for (var v = 0; v < vectors; ++v)
        {
            var step = Vector256.Create(-variant.Steps + Lanes * v) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var id = (Vector256.Create(15f) + Vector256.ConvertToSingle(step) * 0.2f) / max;
            ids[v] = id;
            (Vector256<float>.One / id).CopyTo(thisScales[(Lanes * v)..]);
        }

        SnapCandidates(lattice, candidates, vectors, ids, thisScales, xval, waux, levelsT, offGridBits);

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
        return Refine(lattice, variant, xval, weight, waux, scale, onGrid, levels);
    }

    /// <summary>
    /// Every candidate's levels, group by group and eight candidates at a time; only the lanes whose code is off the
    /// grid (a bit mask, no branch per lane) search neighbours, with the group's values and weights broadcast once.
    /// </summary>
    [SkipLocalsInit]
    private static void SnapCandidates(Iq3Lattice lattice, int candidates, int vectors, ReadOnlySpan<Vector256<float>> ids,
        ReadOnlySpan<float> thisScales, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, Span<int> levelsT, Span<byte> offGridBits)
    {
        Span<int> codes = stackalloc int[Lanes];
        ref var mapRef = ref MemoryMarshal.GetArrayDataReference(lattice.Map);
        ref var gridRef = ref MemoryMarshal.GetArrayDataReference(lattice.Levels);
        ref var lt = ref MemoryMarshal.GetReference(levelsT);
        ref var codeRef = ref MemoryMarshal.GetReference(codes);
        var maxLevel = Vector256.Create(7);
        for (var k = 0; k < GroupSize / 4; ++k)
        {
            var x0 = Vector256.Create(xval[4 * k]);
            var x1 = Vector256.Create(xval[4 * k + 1]);
            var x2 = Vector256.Create(xval[4 * k + 2]);
            var x3 = Vector256.Create(xval[4 * k + 3]);
            var w0 = Vector256.Create(waux[4 * k]);
            var w1 = Vector256.Create(waux[4 * k + 1]);
            var w2 = Vector256.Create(waux[4 * k + 2]);
            var w3 = Vector256.Create(waux[4 * k + 3]);
            for (var v = 0; v < vectors; ++v)
            {
                var id = ids[v];
                var at = (nuint)(4 * k * MaxCandidates + Lanes * v);
                var l0 = Level(id, x0, maxLevel);
                var l1 = Level(id, x1, maxLevel);
                var l2 = Level(id, x2, maxLevel);
                var l3 = Level(id, x3, maxLevel);
                l0.StoreUnsafe(ref lt, at);
                l1.StoreUnsafe(ref lt, at + MaxCandidates);
                l2.StoreUnsafe(ref lt, at + 2 * MaxCandidates);
                l3.StoreUnsafe(ref lt, at + 3 * MaxCandidates);
                (l0 | (l1 << 3) | (l2 << 6) | (l3 << 9)).StoreUnsafe(ref codeRef);
                var offGrid = 0u;
                for (var lane = 0; lane < Lanes; ++lane)
                {
                    // Codes are 12 bits (four clamped 3-bit levels); a negative map entry means off the grid.
                    offGrid |= ((uint)Unsafe.Add(ref mapRef, Unsafe.Add(ref codeRef, lane)) >> 31) << lane;
                }
                offGrid &= (1u << Math.Min(Lanes, candidates - Lanes * v)) - 1;
                while (offGrid != 0)
                {
                    var lane = BitOperations.TrailingZeroCount(offGrid);
                    offGrid &= offGrid - 1;
                    var c = Lanes * v + lane;
                    offGridBits[c] |= (byte)(1 << k);
                    var point = BestNeighbour(lattice, Unsafe.Add(ref codeRef, lane), x0, x1, x2, x3, w0, w1, w2, w3, thisScales[c]);
                    for (var i = 0; i < 4; ++i)
                    {
                        Unsafe.Add(ref lt, (nint)at + i * MaxCandidates + lane) = (Unsafe.Add(ref gridRef, 4 * point + i) - 1) >> 1;
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Iq3Search.BestNeighbour"/> eight neighbours at a time: the first neighbour whose error is the
    /// smallest and below <see cref="float.MaxValue"/>. Lane j scans neighbours j, j + 8, … and keeps its first
    /// strictly smallest (with its chunk); the smallest of those, and among equals the earliest in list order, is
    /// exactly the neighbour ggml's sequential strict <c>d2 &lt; best_d2</c> scan keeps. No branch per chunk.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BestNeighbour(Iq3Lattice lattice, int code, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale) =>
        BestNeighbour(lattice, code, Vector256.Create(xval[0]), Vector256.Create(xval[1]), Vector256.Create(xval[2]), Vector256.Create(xval[3]),
            Vector256.Create(waux[0]), Vector256.Create(waux[1]), Vector256.Create(waux[2]), Vector256.Create(waux[3]), scale);

    /// <summary>The same with the four values and neighbour weights already broadcast.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BestNeighbour(Iq3Lattice lattice, int code,
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> w0, Vector256<float> w1, Vector256<float> w2, Vector256<float> w3, float scale)
    {
        var first = lattice.FirstChunk[code];
        var chunks = lattice.ChunkCount[code];
        ref var levels = ref MemoryMarshal.GetArrayDataReference(lattice.ChunkLevels);
        var s = Vector256.Create(scale);
        var best = Vector256.Create(float.MaxValue);
        var bestChunk = Vector256<int>.Zero;
        for (var n = 0; n < chunks; ++n)
        {
            var at = (nuint)((first + n) * 4 * Lanes);
            var diff = s * Vector256.LoadUnsafe(ref levels, at) - x0;
            var d2 = Vector256<float>.Zero + w0 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + Lanes) - x1;
            d2 += w1 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + 2 * Lanes) - x2;
            d2 += w2 * diff * diff;
            diff = s * Vector256.LoadUnsafe(ref levels, at + 3 * Lanes) - x3;
            d2 += w3 * diff * diff;
            // Below the lane's best so far (false for NaN).
            var smaller = Vector256.LessThan(d2, best);
            best = Vector256.ConditionalSelect(smaller, d2, best);
            bestChunk = Vector256.ConditionalSelect(smaller.AsInt32(), Vector256.Create(n), bestChunk);
        }
        var min = MinAcross(best);
        if (!(min < float.MaxValue))
        {
            throw Iq3Search.TooLarge();
        }
        // List position chunk·8 + lane; among the lanes holding the minimum, the earliest.
        var position = bestChunk * Lanes + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        position = Vector256.ConditionalSelect(Vector256.Equals(best, Vector256.Create(min)).AsInt32(), position, Vector256.Create(int.MaxValue));
        return lattice.ChunkPoints[first * Lanes + MinAcross(position)];
    }

    /// <summary>
    /// <see cref="Iq3Search.Refine"/> with the neighbour searches eight neighbours at a time (same bytes).
    /// </summary>
    public static float Refine(
        Iq3Lattice lattice, Iq3Search.Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
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
                    code |= Iq3Search.Level(id, xval[4 * k + i]) << (3 * i);
                }
                var entry = map[code];
                var point = entry >= 0 ? entry : BestNeighbour(lattice, code, xval.Slice(4 * k, 4), waux.Slice(4 * k, 4), scale);
                Iq3Search.SetLevels(lattice, point, levels.Slice(4 * k, 4));
            }
            scale = Iq3Search.Refit(xval, weight, levels, scale);
        }
        return scale;
    }

    /// <summary><see cref="Iq3Search.Level"/> on every lane: <c>clamp(nearest_int(0.5·(id·x − 1)), 0, 7)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Level(Vector256<float> id, Vector256<float> x, Vector256<int> maxLevel)
    {
        var t = (id * x - Vector256<float>.One) * 0.5f;
        var l = ((t + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);
        return Vector256.Max(Vector256<int>.Zero, Vector256.Min(maxLevel, l));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MinAcross(Vector256<float> v)
    {
        var m = Vector128.MinNative(v.GetLower(), v.GetUpper());
        m = Vector128.MinNative(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.MinNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MinAcross(Vector256<int> v)
    {
        var m = Vector128.Min(v.GetLower(), v.GetUpper());
        m = Vector128.Min(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Min(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
