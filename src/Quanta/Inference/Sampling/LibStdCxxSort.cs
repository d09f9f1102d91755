using System.Numerics;

namespace Quanta.Inference.Sampling;

/// <summary>A strict weak order, as a C++ comparator: <c>Less(a, b)</c> is <c>comp(a, b)</c>.</summary>
internal interface IStdLess<T>
{
    bool Less(in T a, in T b);
}

/// <summary>
/// <c>std::sort</c> and <c>std::partial_sort</c> exactly as GCC's libstdc++ (bits/stl_algo.h, stl_heap.h)
/// implements them: introsort with median-of-three pivots, a 16-element insertion-sort threshold and a
/// heap-sort fallback, and partial sort by heap selection. Neither sort is stable, so the order of tokens
/// with equal logits — and with it which token a seeded draw picks — depends on these exact steps;
/// llama.cpp built with GCC sorts this way.
/// </summary>
internal static class LibStdCxxSort
{
    /// <summary>libstdc++'s <c>_S_threshold</c>.</summary>
    const int Threshold = 16;

    /// <summary><c>std::sort(first, last, comp)</c>.</summary>
    public static void Sort<T, TLess>(Span<T> items, TLess less)
        where TLess : struct, IStdLess<T>
    {
        if (items.Length == 0)
        {
            return;
        }
        // std::__lg(n) * 2: twice the index of the highest set bit.
        IntrosortLoop(items, 0, items.Length, (31 - BitOperations.LeadingZeroCount((uint)items.Length)) * 2, less);
        FinalInsertionSort(items, 0, items.Length, less);
    }

    /// <summary><c>std::partial_sort(first, first + middle, last, comp)</c>.</summary>
    public static void PartialSort<T, TLess>(Span<T> items, int middle, TLess less)
        where TLess : struct, IStdLess<T>
    {
        HeapSelect(items, 0, middle, items.Length, less);
        SortHeap(items, 0, middle, less);
    }

    static void IntrosortLoop<T, TLess>(Span<T> s, int first, int last, int depthLimit, TLess less)
        where TLess : struct, IStdLess<T>
    {
        while (last - first > Threshold)
        {
            if (depthLimit == 0)
            {
                HeapSelect(s, first, last, last, less);
                SortHeap(s, first, last, less);
                return;
            }
            --depthLimit;
            var cut = UnguardedPartitionPivot(s, first, last, less);
            IntrosortLoop(s, cut, last, depthLimit, less);
            last = cut;
        }
    }

    static int UnguardedPartitionPivot<T, TLess>(Span<T> s, int first, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        var mid = first + (last - first) / 2;
        MoveMedianToFirst(s, first, first + 1, mid, last - 1, less);
        return UnguardedPartition(s, first + 1, last, first, less);
    }

    static void MoveMedianToFirst<T, TLess>(Span<T> s, int result, int a, int b, int c, TLess less)
        where TLess : struct, IStdLess<T>
    {
        if (less.Less(s[a], s[b]))
        {
            if (less.Less(s[b], s[c]))
            {
                Swap(s, result, b);
            }
            else if (less.Less(s[a], s[c]))
            {
                Swap(s, result, c);
            }
            else
            {
                Swap(s, result, a);
            }
        }
        else if (less.Less(s[a], s[c]))
        {
            Swap(s, result, a);
        }
        else if (less.Less(s[b], s[c]))
        {
            Swap(s, result, c);
        }
        else
        {
            Swap(s, result, b);
        }
    }

    static int UnguardedPartition<T, TLess>(Span<T> s, int first, int last, int pivot, TLess less)
        where TLess : struct, IStdLess<T>
    {
        while (true)
        {
            while (less.Less(s[first], s[pivot]))
            {
                ++first;
            }
            --last;
            while (less.Less(s[pivot], s[last]))
            {
                --last;
            }
            if (!(first < last))
            {
                return first;
            }
            Swap(s, first, last);
            ++first;
        }
    }

    static void FinalInsertionSort<T, TLess>(Span<T> s, int first, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        if (last - first > Threshold)
        {
            InsertionSort(s, first, first + Threshold, less);
            for (var i = first + Threshold; i != last; ++i)
            {
                UnguardedLinearInsert(s, i, less);
            }
        }
        else
        {
            InsertionSort(s, first, last, less);
        }
    }

    static void InsertionSort<T, TLess>(Span<T> s, int first, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        if (first == last)
        {
            return;
        }
        for (var i = first + 1; i != last; ++i)
        {
            if (less.Less(s[i], s[first]))
            {
                var value = s[i];
                s[first..i].CopyTo(s[(first + 1)..]); // move_backward
                s[first] = value;
            }
            else
            {
                UnguardedLinearInsert(s, i, less);
            }
        }
    }

    static void UnguardedLinearInsert<T, TLess>(Span<T> s, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        var value = s[last];
        var next = last - 1;
        while (less.Less(value, s[next]))
        {
            s[last] = s[next];
            last = next;
            --next;
        }
        s[last] = value;
    }

    static void HeapSelect<T, TLess>(Span<T> s, int first, int middle, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        MakeHeap(s, first, middle, less);
        for (var i = middle; i < last; ++i)
        {
            if (less.Less(s[i], s[first]))
            {
                PopHeap(s, first, middle, i, less);
            }
        }
    }

    static void MakeHeap<T, TLess>(Span<T> s, int first, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        if (last - first < 2)
        {
            return;
        }
        var length = last - first;
        var parent = (length - 2) / 2;
        while (true)
        {
            AdjustHeap(s, first, parent, length, s[first + parent], less);
            if (parent == 0)
            {
                return;
            }
            parent--;
        }
    }

    static void SortHeap<T, TLess>(Span<T> s, int first, int last, TLess less)
        where TLess : struct, IStdLess<T>
    {
        while (last - first > 1)
        {
            --last;
            PopHeap(s, first, last, last, less);
        }
    }

    static void PopHeap<T, TLess>(Span<T> s, int first, int last, int result, TLess less)
        where TLess : struct, IStdLess<T>
    {
        var value = s[result];
        s[result] = s[first];
        AdjustHeap(s, first, 0, last - first, value, less);
    }

    static void AdjustHeap<T, TLess>(Span<T> s, int first, int hole, int length, T value, TLess less)
        where TLess : struct, IStdLess<T>
    {
        var top = hole;
        var child = hole;
        while (child < (length - 1) / 2)
        {
            child = 2 * (child + 1);
            if (less.Less(s[first + child], s[first + child - 1]))
            {
                child--;
            }
            s[first + hole] = s[first + child];
            hole = child;
        }
        if ((length & 1) == 0 && child == (length - 2) / 2)
        {
            child = 2 * (child + 1);
            s[first + hole] = s[first + child - 1];
            hole = child - 1;
        }
        // __push_heap
        var parent = (hole - 1) / 2;
        while (hole > top && less.Less(s[first + parent], value))
        {
            s[first + hole] = s[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        s[first + hole] = value;
    }

    static void Swap<T>(Span<T> s, int a, int b) => (s[a], s[b]) = (s[b], s[a]);
}

/// <summary>llama.cpp's candidate order: <c>a.logit &gt; b.logit</c>.</summary>
internal readonly struct ByLogitDescending : IStdLess<TokenData>
{
    public bool Less(in TokenData a, in TokenData b) => a.Logit > b.Logit;
}
