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
}
