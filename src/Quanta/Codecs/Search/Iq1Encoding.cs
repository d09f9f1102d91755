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
    /// ggml's <c>iq1_find_best_neighbour2</c>: among <paramref name="neighbours"/> the grid point whose shifted
    /// levels <paramref name="xx"/> times <paramref name="scale"/> are nearest to the eight values in weighted
    /// squared distance; the first of equals wins.
    /// </summary>
    public static int BestNeighbour(
        ReadOnlySpan<ushort> neighbours, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, float scale, ReadOnlySpan<float> xx)
    {
        var best = float.MaxValue;
        var index = -1;
        foreach (var n in neighbours)
        {
            var point = Iq1Grids.Iq1S[n];
            float d2 = 0;
            for (var i = 0; i < 8; ++i)
            {
                var q = xx[(sbyte)(point >> (8 * i)) + 1];
                var diff = scale * q - xval[i];
                d2 += weight[i] * diff * diff;
            }
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
}
