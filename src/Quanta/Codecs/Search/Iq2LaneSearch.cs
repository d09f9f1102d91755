using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Codecs.Search;

/// <summary>
/// The IQ2 scale search of <see cref="Iq2Search"/> with its independent work on 256-bit lanes, the same bytes: the
/// candidate scales are independent until one is chosen, so eight candidates run side by side (each lane snaps its
/// values and sums its two fit sums value by value in ggml's order), and each neighbour search scores eight
/// neighbours at once and keeps the first smallest, as ggml's strict <c>d2 &lt; best_d2</c> scan does. Only the
/// choice between candidates, sequential in ggml, stays scalar.
/// </summary>
internal static class Iq2LaneSearch
{
    private const int Lanes = Iq2Lattice.ChunkLanes;
    private const int Dimensions = Iq2Lattice.Dimensions;

    /// <summary>Most candidates a variant tries (IQ2_XS and IQ2_S: 19), rounded up to whole vectors.</summary>
    private const int MaxCandidates = 24;

    /// <summary>Largest group (IQ2_XXS: 32 values).</summary>
    private const int MaxValues = 32;

    [SkipLocalsInit]
    public static float FindScale(
        Iq2Lattice lattice, Iq2Search.Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float max, Span<sbyte> levels)
    {
        var n = xval.Length;
        var groups = n / Dimensions;
        var candidates = 2 * variant.Steps + 1;
        var vectors = (candidates + Lanes - 1) / Lanes;
        var (scale, effectiveMax) = Iq2Search.FirstGuess(variant, vectorized: true, xval, weight, max);

        // levelsT[i * MaxCandidates + c]: level of value i under candidate c; one vector per (i, eight candidates).
        Span<int> levelsT = stackalloc int[MaxValues * MaxCandidates];
        Span<float> thisScales = stackalloc float[MaxCandidates];
        Span<float> sumqx = stackalloc float[MaxCandidates];
        Span<float> sumq2 = stackalloc float[MaxCandidates];
        Span<byte> offGridBits = stackalloc byte[MaxCandidates];
        Span<float> wx = stackalloc float[MaxValues];
        Span<Vector256<float>> ids = stackalloc Vector256<float>[MaxCandidates / Lanes];
        offGridBits.Clear();

        for (var v = 0; v < vectors; ++v)
        {
            // ggml: id = (2·kMaxQ − 1 + is·0.1f)/max, lane by lane.
            var step = Vector256.Create(-variant.Steps + Lanes * v) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var id = (Vector256.Create((float)(2 * Iq2Search.LevelCount - 1)) + Vector256.ConvertToSingle(step) * 0.1f) / effectiveMax;
            ids[v] = id;
            (Vector256<float>.One / id).CopyTo(thisScales[(Lanes * v)..]);
        }

        SnapCandidates(lattice, groups, candidates, vectors, ids, thisScales, xval, waux, levelsT, offGridBits);

        // Both sums per candidate, value by value in ggml's order: (w·x)·q and (w·q)·q.
        for (var i = 0; i < n; ++i)
        {
            wx[i] = weight[i] * xval[i];
        }
        ref var lt = ref MemoryMarshal.GetReference(levelsT);
        var one = Vector256<int>.One;
        for (var v = 0; v < vectors; ++v)
        {
            var sx = Vector256<float>.Zero;
            var s2 = Vector256<float>.Zero;
            for (var i = 0; i < n; ++i)
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

        Span<bool> onGrid = stackalloc bool[groups];
        onGrid.Fill(true);
        if (chosen >= 0)
        {
            for (var i = 0; i < n; ++i)
            {
                levels[i] = (sbyte)levelsT[i * MaxCandidates + chosen];
            }
            for (var k = 0; k < groups; ++k)
            {
                onGrid[k] = (offGridBits[chosen] & (1 << k)) == 0;
            }
        }
        // Otherwise levels keep what they came in with, as ggml's L does.
        return Iq2Search.Resnap(lattice, variant, vectorized: true, xval, weight, waux, scale, onGrid, levels);
    }

    /// <summary>
    /// Every candidate's levels, group by group and eight candidates at a time; only the lanes whose code is off the
    /// grid (a bit mask, no branch per lane) search neighbours.
    /// </summary>
    [SkipLocalsInit]
    private static void SnapCandidates(Iq2Lattice lattice, int groups, int candidates, int vectors, ReadOnlySpan<Vector256<float>> ids,
        ReadOnlySpan<float> thisScales, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, Span<int> levelsT, Span<byte> offGridBits)
    {
        Span<int> codes = stackalloc int[Lanes];
        ref var mapRef = ref MemoryMarshal.GetArrayDataReference(lattice.Map);
        ref var gridRef = ref MemoryMarshal.GetArrayDataReference(lattice.Levels);
        ref var lt = ref MemoryMarshal.GetReference(levelsT);
        ref var codeRef = ref MemoryMarshal.GetReference(codes);
        for (var k = 0; k < groups; ++k)
        {
            var x = xval.Slice(Dimensions * k, Dimensions);
            for (var v = 0; v < vectors; ++v)
            {
                var id = ids[v];
                var at = (nuint)(Dimensions * k * MaxCandidates + Lanes * v);
                var code = Vector256<int>.Zero;
                for (var i = 0; i < Dimensions; ++i)
                {
                    var l = Level(id, Vector256.Create(x[i]));
                    l.StoreUnsafe(ref lt, at + (nuint)(i * MaxCandidates));
                    code |= l << (2 * i);
                }
                code.StoreUnsafe(ref codeRef);
                var offGrid = 0u;
                for (var lane = 0; lane < Lanes; ++lane)
                {
                    // Codes are 16 bits (eight clamped 2-bit levels); a negative map entry means off the grid.
                    offGrid |= ((uint)Unsafe.Add(ref mapRef, Unsafe.Add(ref codeRef, lane)) >> 31) << lane;
                }
                offGrid &= (1u << Math.Min(Lanes, candidates - Lanes * v)) - 1;
                while (offGrid != 0)
                {
                    var lane = BitOperations.TrailingZeroCount(offGrid);
                    offGrid &= offGrid - 1;
                    var c = Lanes * v + lane;
                    offGridBits[c] |= (byte)(1 << k);
                    var entry = Unsafe.Add(ref mapRef, Unsafe.Add(ref codeRef, lane));
                    var point = BestNeighbour(lattice, entry, x, waux.Slice(Dimensions * k, Dimensions), thisScales[c]);
                    for (var i = 0; i < Dimensions; ++i)
                    {
                        Unsafe.Add(ref lt, (nint)at + i * MaxCandidates + lane) = (Unsafe.Add(ref gridRef, Dimensions * point + i) - 1) >> 1;
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Iq2Search.BestNeighbour"/> eight neighbours at a time: the grid index of the first neighbour whose
    /// error is the smallest and below <see cref="float.MaxValue"/>. A coordinate's error term
    /// <c>waux·(scale·q − x)²</c>, computed as ggml computes it, can take only three values (q is 1, 3 or 5), so
    /// they are computed once per coordinate (two coordinates per vector) and each neighbour's term is looked up by
    /// its level (one permute); each lane still adds its eight terms in coordinate order, so the errors are ggml's
    /// floats. Lane j scans
    /// neighbours j, j + 8, … and keeps its first strictly smallest (with its chunk); the smallest of those, and
    /// among equals the earliest in list order, is exactly the neighbour ggml's sequential scan keeps.
    /// </summary>
    public static int BestNeighbour(Iq2Lattice lattice, int mapEntry, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float scale)
    {
        // One vector of terms per pair of coordinates: coordinate 2k in lanes 0-2, 2k + 1 in lanes 4-6.
        var sq = Vector256.Create(scale) * Vector256.Create(1f, 3f, 5f, 5f, 1f, 3f, 5f, 5f);
        var xv = Vector256.Create(xval[..Dimensions]);
        var wv = Vector256.Create(waux[..Dimensions]);
        var t0 = PairTerms(sq, xv, wv, 0);
        var t1 = PairTerms(sq, xv, wv, 2);
        var t2 = PairTerms(sq, xv, wv, 4);
        var t3 = PairTerms(sq, xv, wv, 6);

        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            return BestNeighbourWide(lattice, mapEntry, t0, t1, t2, t3);
        }

        var first = lattice.ChunkStart(mapEntry);
        var chunks = lattice.ChunkCount(mapEntry);
        ref var index = ref MemoryMarshal.GetArrayDataReference(lattice.ChunkLevels);
        var best = Vector256.Create(float.MaxValue);
        var bestChunk = Vector256<int>.Zero;
        for (var c = 0; c < chunks; ++c)
        {
            var at = (nuint)((first + c) * Dimensions * Lanes);
            var d2 = Vector256<float>.Zero + Lookup(t0, Level8(ref index, at));
            d2 += Lookup(t0, Level8(ref index, at + Lanes));
            d2 += Lookup(t1, Level8(ref index, at + 2 * Lanes));
            d2 += Lookup(t1, Level8(ref index, at + 3 * Lanes));
            d2 += Lookup(t2, Level8(ref index, at + 4 * Lanes));
            d2 += Lookup(t2, Level8(ref index, at + 5 * Lanes));
            d2 += Lookup(t3, Level8(ref index, at + 6 * Lanes));
            d2 += Lookup(t3, Level8(ref index, at + 7 * Lanes));
            // Below the lane's best so far (false for NaN).
            var smaller = Vector256.LessThan(d2, best);
            best = Vector256.ConditionalSelect(smaller, d2, best);
            bestChunk = Vector256.ConditionalSelect(smaller.AsInt32(), Vector256.Create(c), bestChunk);
        }
        var min = MinAcross(best);
        if (!(min < float.MaxValue))
        {
            throw Iq2Search.TooLarge();
        }
        // List position chunk·8 + lane; among the lanes holding the minimum, the earliest.
        var position = bestChunk * Lanes + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        position = Vector256.ConditionalSelect(Vector256.Equals(best, Vector256.Create(min)).AsInt32(), position, Vector256.Create(int.MaxValue));
        return lattice.ChunkPoints[first * Lanes + MinAcross(position)];
    }

    /// <summary>
    /// <see cref="BestNeighbour"/>'s scan sixteen neighbours at a time where 512-bit vectors are accelerated: the same
    /// pair term tables in both halves, one <c>vpermps</c> per coordinate, each lane's eight terms added in coordinate
    /// order, and the earliest of the smallest kept, so the same neighbour.
    /// </summary>
    private static int BestNeighbourWide(Iq2Lattice lattice, int mapEntry,
        Vector256<float> t0, Vector256<float> t1, Vector256<float> t2, Vector256<float> t3)
    {
        const int WideLanes = Iq2Lattice.WideChunkLanes;
        var w0 = Vector512.Create(t0, t0);
        var w1 = Vector512.Create(t1, t1);
        var w2 = Vector512.Create(t2, t2);
        var w3 = Vector512.Create(t3, t3);
        var first = lattice.WideChunkStart(mapEntry);
        var chunks = lattice.WideChunkCount(mapEntry);
        ref var index = ref MemoryMarshal.GetArrayDataReference(lattice.WideChunkLevels);
        var best = Vector512.Create(float.MaxValue);
        var bestChunk = Vector512<int>.Zero;
        for (var c = 0; c < chunks; ++c)
        {
            var at = (nuint)((first + c) * Dimensions * WideLanes);
            var d2 = Vector512<float>.Zero + Avx512F.PermuteVar16x32(w0, Level16(ref index, at));
            d2 += Avx512F.PermuteVar16x32(w0, Level16(ref index, at + WideLanes));
            d2 += Avx512F.PermuteVar16x32(w1, Level16(ref index, at + 2 * WideLanes));
            d2 += Avx512F.PermuteVar16x32(w1, Level16(ref index, at + 3 * WideLanes));
            d2 += Avx512F.PermuteVar16x32(w2, Level16(ref index, at + 4 * WideLanes));
            d2 += Avx512F.PermuteVar16x32(w2, Level16(ref index, at + 5 * WideLanes));
            d2 += Avx512F.PermuteVar16x32(w3, Level16(ref index, at + 6 * WideLanes));
            d2 += Avx512F.PermuteVar16x32(w3, Level16(ref index, at + 7 * WideLanes));
            var smaller = Vector512.LessThan(d2, best);
            best = Vector512.ConditionalSelect(smaller, d2, best);
            bestChunk = Vector512.ConditionalSelect(smaller.AsInt32(), Vector512.Create(c), bestChunk);
        }
        var min = MinAcross(Vector256.Min(best.GetLower(), best.GetUpper()));
        if (!(min < float.MaxValue))
        {
            throw Iq2Search.TooLarge();
        }
        var position = bestChunk * WideLanes + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        position = Vector512.ConditionalSelect(Vector512.Equals(best, Vector512.Create(min)).AsInt32(), position, Vector512.Create(int.MaxValue));
        return lattice.WideChunkPoints[first * WideLanes + MinAcross(Vector256.Min(position.GetLower(), position.GetUpper()))];
    }

    /// <summary>Eight byte levels widened to the permute's lane indices (<c>vpmovzxbd</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Level8(ref byte index, nuint at) =>
        Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref index, at))
            : Vector256.Create(Unsafe.Add(ref index, at), Unsafe.Add(ref index, at + 1), Unsafe.Add(ref index, at + 2), Unsafe.Add(ref index, at + 3),
                Unsafe.Add(ref index, at + 4), Unsafe.Add(ref index, at + 5), Unsafe.Add(ref index, at + 6), Unsafe.Add(ref index, at + 7));

    /// <summary>Sixteen byte levels widened to the permute's lane indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Level16(ref byte index, nuint at) =>
        Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref index, at));

    /// <summary>
    /// Lanes l and 4 + l (l = 0, 1, 2): <c>(waux·diff)·diff</c> with <c>diff = scale·(2l + 1) − x</c> for coordinates
    /// <paramref name="i"/> and i + 1, as ggml computes each term.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PairTerms(Vector256<float> scaledLevels, Vector256<float> x, Vector256<float> waux, int i)
    {
        var pick = Vector256.Create(i, i, i, i, i + 1, i + 1, i + 1, i + 1);
        var diff = scaledLevels - Lookup(x, pick);
        return Lookup(waux, pick) * diff * diff;
    }

    /// <summary>Each lane's term by its level: one <c>vpermps</c> (a portable shuffle where AVX2 is absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lookup(Vector256<float> terms, Vector256<int> level) =>
        Avx2.IsSupported ? Avx2.PermuteVar8x32(terms, level) : Vector256.Shuffle(terms, level);

    /// <summary><see cref="Iq2Search.Level"/> on every lane: <c>clamp(nearest_int(0.5·(id·x − 1)), 0, 2)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Level(Vector256<float> id, Vector256<float> x)
    {
        var t = (id * x - Vector256<float>.One) * 0.5f;
        var l = ((t + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);
        return Vector256.Max(Vector256<int>.Zero, Vector256.Min(Vector256.Create(Iq2Lattice.MaxLevel), l));
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
