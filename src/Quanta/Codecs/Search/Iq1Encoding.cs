using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Codecs.Search;

/// <summary>The steps IQ1_S and IQ1_M share, each in ggml's order of operations.</summary>
internal static class Iq1Encoding
{
    /// <summary>ggml's <c>IQ1S_DELTA</c> and <c>IQ1M_DELTA</c>: the ±1/8 shift of a group's three levels.</summary>
    public const float Delta = 0.125f;

    /// <summary>C's <c>FLT_MIN</c>, the smallest normal float; ggml starts its best score at its negative.</summary>
    public const float FltMin = 1.17549435e-38f;

    /// <summary>The three levels shifted up (<c>x_p</c>) and down (<c>x_m</c>).</summary>
    public static ReadOnlySpan<float> ShiftedUp => [-1 + Delta, Delta, 1 + Delta];

    public static ReadOnlySpan<float> ShiftedDown => [-1 - Delta, -Delta, 1 - Delta];

    /// <summary>
    /// The positions of <paramref name="x"/> in ascending order, as ggml's <c>qsort</c> with <c>iq1_sort_helper</c>
    /// leaves them. That comparator calls equal values (−0 and +0 included) equal, so the order among them is the C
    /// library's: glibc sorts arrays this small with its merge sort (<c>msort_with_tmp</c>), which takes the left
    /// element on ties and is therefore stable — equal values keep their positions' order, as here.
    /// </summary>
    public static void SortAscending(ReadOnlySpan<float> x, Span<int> order)
    {
        for (var i = 0; i < x.Length; ++i)
        {
            var v = x[i];
            var j = i;
            while (j > 0 && x[order[j - 1]] > v)
            {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = i;
        }
    }

    /// <summary>
    /// <see cref="SortAscending"/> without branches, the same order: each value goes to its rank, the count of
    /// values below it plus the count of equal values at earlier positions (so equal values keep their positions'
    /// order, as the stable sort leaves them), counted eight comparisons at a time. The length is a multiple of 8.
    /// </summary>
    public static void SortAscendingLanes(ReadOnlySpan<float> x, Span<int> order)
    {
        var n = x.Length;
        if (n % 8 != 0 || order.Length < n)
        {
            throw new ArgumentException("the lane sort takes a multiple of 8 values", nameof(x));
        }
        ref var xr = ref MemoryMarshal.GetReference(x);
        for (var i = 0; i < n; ++i)
        {
            var v = Vector256.Create(x[i]);
            var rank = 0;
            for (var c = 0; c < n; c += 8)
            {
                var chunk = Vector256.LoadUnsafe(ref xr, (nuint)c);
                var less = Vector256.LessThan(chunk, v).ExtractMostSignificantBits();
                var equal = Vector256.Equals(chunk, v).ExtractMostSignificantBits();
                var before = i - c >= 8 ? 0xFFu : i <= c ? 0u : (1u << (i - c)) - 1;
                rank += System.Numerics.BitOperations.PopCount(less | (equal & before));
            }
            order[rank] = i;
        }
    }

    /// <summary>
    /// ggml's <c>iq1_find_best_neighbour2</c>: among <paramref name="neighbours"/> the grid point whose shifted
    /// levels <paramref name="xx"/> times <paramref name="scale"/> are nearest to the eight values in weighted
    /// squared distance; the first of equals wins. Each coordinate's term <c>w·diff·diff</c> takes one of three
    /// values, so they are computed once (the same floats ggml computes) and each point's distance is their sum in
    /// coordinate order, as ggml adds them.
    /// </summary>
    public static int BestNeighbour(
        ReadOnlySpan<ushort> neighbours, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, float scale, ReadOnlySpan<float> xx)
    {
        Span<float> term = stackalloc float[8 * 3];
        for (var i = 0; i < 8; ++i)
        {
            for (var l = 0; l < 3; ++l)
            {
                var diff = scale * xx[l] - xval[i];
                term[3 * i + l] = weight[i] * diff * diff;
            }
        }
        var levels = Iq1Neighbours.Levels;
        var best = float.MaxValue;
        var index = -1;
        foreach (var n in neighbours)
        {
            var p = levels.Slice(8 * n, 8);
            var d2 = term[p[0]] + term[3 + p[1]] + term[6 + p[2]] + term[9 + p[3]] + term[12 + p[4]] + term[15 + p[5]]
                + term[18 + p[6]] + term[21 + p[7]];
            if (d2 < best)
            {
                best = d2;
                index = n;
            }
        }
        if (index < 0)
        {
            // Only a non-finite distance leaves nothing chosen; ggml then scans the whole grid with a loop that
            // reads past its arrays and aborts. Non-finite inputs are refused before this, so this is a bug guard.
            throw new InvalidOperationException("IQ1 neighbour search found no finite distance");
        }
        return index;
    }

    /// <summary>
    /// <see cref="BestNeighbour"/> eight neighbours at a time, the same point: each coordinate's three terms are
    /// computed once as there (one vector, lane l for level l) and each neighbour's term looked up by its level
    /// (one permute); each lane adds its eight terms in coordinate order, so the distances are the same floats.
    /// Lane j scans neighbours j, j + 8, … and keeps its first strictly smallest; the smallest of those, and among
    /// equals the earliest in list order, is the point the sequential strict <c>d2 &lt; best</c> scan keeps.
    /// </summary>
    public static int BestNeighbourLanes(
        Iq1Neighbours neighbours, int code, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, float scale, ReadOnlySpan<float> xx)
    {
        const int lanes = Iq1Neighbours.ChunkLanes;
        var sq = Vector256.Create(scale) * Vector256.Create(xx[0], xx[1], xx[2], xx[2], xx[2], xx[2], xx[2], xx[2]);
        var t0 = Terms(sq, xval[0], weight[0]);
        var t1 = Terms(sq, xval[1], weight[1]);
        var t2 = Terms(sq, xval[2], weight[2]);
        var t3 = Terms(sq, xval[3], weight[3]);
        var t4 = Terms(sq, xval[4], weight[4]);
        var t5 = Terms(sq, xval[5], weight[5]);
        var t6 = Terms(sq, xval[6], weight[6]);
        var t7 = Terms(sq, xval[7], weight[7]);
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            return BestNeighbourWide(neighbours, code, t0, t1, t2, t3, t4, t5, t6, t7);
        }
        var first = neighbours.FirstChunk(code);
        var chunks = neighbours.ChunkCount(code);
        ref var index = ref MemoryMarshal.GetArrayDataReference(neighbours.ChunkLevels);
        var best = Vector256.Create(float.MaxValue);
        var bestChunk = Vector256<int>.Zero;
        for (var c = 0; c < chunks; ++c)
        {
            var at = (nuint)((first + c) * 8 * lanes);
            var d2 = Lookup(t0, Level8(ref index, at));
            d2 += Lookup(t1, Level8(ref index, at + lanes));
            d2 += Lookup(t2, Level8(ref index, at + 2 * lanes));
            d2 += Lookup(t3, Level8(ref index, at + 3 * lanes));
            d2 += Lookup(t4, Level8(ref index, at + 4 * lanes));
            d2 += Lookup(t5, Level8(ref index, at + 5 * lanes));
            d2 += Lookup(t6, Level8(ref index, at + 6 * lanes));
            d2 += Lookup(t7, Level8(ref index, at + 7 * lanes));
            var smaller = Vector256.LessThan(d2, best);
            best = Vector256.ConditionalSelect(smaller, d2, best);
            bestChunk = Vector256.ConditionalSelect(smaller.AsInt32(), Vector256.Create(c), bestChunk);
        }
        var min = best.GetElement(0);
        for (var l = 1; l < lanes; ++l)
        {
            min = Math.Min(min, best.GetElement(l));
        }
        if (!(min < float.MaxValue))
        {
            throw new InvalidOperationException("IQ1 neighbour search found no finite distance");
        }
        var position = int.MaxValue;
        for (var l = 0; l < lanes; ++l)
        {
            if (best.GetElement(l) == min)
            {
                position = Math.Min(position, bestChunk.GetElement(l) * lanes + l);
            }
        }
        return neighbours.ChunkPoints[first * lanes + position];
    }

    /// <summary>
    /// <see cref="BestNeighbourLanes"/>' scan sixteen neighbours at a time where 512-bit vectors are accelerated: the
    /// same term tables in both halves, one <c>vpermps</c> per coordinate, each lane's eight terms added in coordinate
    /// order, and the earliest of the smallest kept, so the same point.
    /// </summary>
    private static int BestNeighbourWide(Iq1Neighbours neighbours, int code, Vector256<float> t0, Vector256<float> t1, Vector256<float> t2,
        Vector256<float> t3, Vector256<float> t4, Vector256<float> t5, Vector256<float> t6, Vector256<float> t7)
    {
        const int lanes = Iq1Neighbours.WideChunkLanes;
        var w0 = Vector512.Create(t0, t0);
        var w1 = Vector512.Create(t1, t1);
        var w2 = Vector512.Create(t2, t2);
        var w3 = Vector512.Create(t3, t3);
        var w4 = Vector512.Create(t4, t4);
        var w5 = Vector512.Create(t5, t5);
        var w6 = Vector512.Create(t6, t6);
        var w7 = Vector512.Create(t7, t7);
        var first = neighbours.FirstWideChunk(code);
        var chunks = neighbours.WideChunkCount(code);
        ref var index = ref MemoryMarshal.GetArrayDataReference(neighbours.WideChunkLevels);
        var best = Vector512.Create(float.MaxValue);
        var bestChunk = Vector512<int>.Zero;
        for (var c = 0; c < chunks; ++c)
        {
            var at = (nuint)((first + c) * 8 * lanes);
            var d2 = Avx512F.PermuteVar16x32(w0, Level16(ref index, at));
            d2 += Avx512F.PermuteVar16x32(w1, Level16(ref index, at + lanes));
            d2 += Avx512F.PermuteVar16x32(w2, Level16(ref index, at + 2 * lanes));
            d2 += Avx512F.PermuteVar16x32(w3, Level16(ref index, at + 3 * lanes));
            d2 += Avx512F.PermuteVar16x32(w4, Level16(ref index, at + 4 * lanes));
            d2 += Avx512F.PermuteVar16x32(w5, Level16(ref index, at + 5 * lanes));
            d2 += Avx512F.PermuteVar16x32(w6, Level16(ref index, at + 6 * lanes));
            d2 += Avx512F.PermuteVar16x32(w7, Level16(ref index, at + 7 * lanes));
            var smaller = Vector512.LessThan(d2, best);
            best = Vector512.ConditionalSelect(smaller, d2, best);
            bestChunk = Vector512.ConditionalSelect(smaller.AsInt32(), Vector512.Create(c), bestChunk);
        }
        var min = Vector512.Min(best, Vector512.Create(float.MaxValue));
        var m = Vector256.Min(min.GetLower(), min.GetUpper());
        var m128 = Vector128.Min(m.GetLower(), m.GetUpper());
        m128 = Vector128.Min(m128, Vector128.Shuffle(m128, Vector128.Create(2, 3, 0, 1)));
        m128 = Vector128.Min(m128, Vector128.Shuffle(m128, Vector128.Create(1, 0, 3, 2)));
        var smallest = m128.ToScalar();
        if (!(smallest < float.MaxValue))
        {
            throw new InvalidOperationException("IQ1 neighbour search found no finite distance");
        }
        var position = bestChunk * lanes + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        position = Vector512.ConditionalSelect(Vector512.Equals(best, Vector512.Create(smallest)).AsInt32(), position, Vector512.Create(int.MaxValue));
        var p = Vector256.Min(position.GetLower(), position.GetUpper());
        var p128 = Vector128.Min(p.GetLower(), p.GetUpper());
        p128 = Vector128.Min(p128, Vector128.Shuffle(p128, Vector128.Create(2, 3, 0, 1)));
        p128 = Vector128.Min(p128, Vector128.Shuffle(p128, Vector128.Create(1, 0, 3, 2)));
        return neighbours.WideChunkPoints[first * lanes + p128.ToScalar()];
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

    /// <summary>Lane l (0, 1, 2): <c>(w·diff)·diff</c> with <c>diff = scale·xx[l] − x</c>, as ggml computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Terms(Vector256<float> scaledLevels, float x, float w)
    {
        var diff = scaledLevels - Vector256.Create(x);
        return Vector256.Create(w) * diff * diff;
    }

    /// <summary>Each lane's term by its level: one <c>vpermps</c> (a portable shuffle where AVX2 is absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lookup(Vector256<float> terms, Vector256<int> level) =>
        Avx2.IsSupported ? Avx2.PermuteVar8x32(terms, level) : Vector256.Shuffle(terms, level);
}
