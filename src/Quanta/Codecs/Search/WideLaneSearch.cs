using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs.Search;

/// <summary>
/// <see cref="LaneSearch"/> on sixteen lanes (<see cref="Vector512{T}"/>), for formats with sixteen independent
/// sub-blocks per super-block: one super-block's searches run in one vector, each lane doing exactly the scalar
/// routine's operations in exactly its order. Used only where 512-bit vectors are hardware-accelerated.
/// </summary>
internal static class WideLaneSearch
{
    public const int Lanes = 16;

    /// <summary><see cref="GgmlMath.NearestInt"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> NearestInt(Vector512<float> value) =>
        ((value + Vector512.Create(12582912f)).AsInt32() & Vector512.Create(0x007FFFFF)) - Vector512.Create(0x00400000);

    /// <summary>
    /// Loads the 16 × 16 block <paramref name="src"/> transposed: lane j of <c>x[i]</c> is <c>src[16·j + i]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    public static void Transpose16(ReadOnlySpan<float> src, Span<Vector512<float>> x)
    {
        Span<float> t = stackalloc float[256];
        ref var s = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(src[..256]);
        ref var d = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t);
        for (var j = 0; j < 16; ++j)
        {
            for (var i = 0; i < 16; ++i)
            {
                Unsafe.Add(ref d, 16 * i + j) = Unsafe.Add(ref s, 16 * j + i);
            }
        }
        for (var i = 0; i < 16; ++i)
        {
            x[i] = Vector512.LoadUnsafe(ref d, (nuint)(16 * i));
        }
    }

    /// <summary>
    /// Stores the 16 × 16 levels (0..255) transposed back as bytes: <c>dst[16·j + i]</c> = lane j of <c>levels[i]</c>.
    /// </summary>
    [SkipLocalsInit]
    public static void Untranspose16(ReadOnlySpan<Vector512<int>> levels, Span<byte> dst)
    {
        Span<byte> t = stackalloc byte[256];
        ref var tb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(t);
        for (var i = 0; i < 16; i += 4)
        {
            var lo = Vector512.Narrow(levels[i].AsUInt32(), levels[i + 1].AsUInt32());
            var hi = Vector512.Narrow(levels[i + 2].AsUInt32(), levels[i + 3].AsUInt32());
            Vector512.Narrow(lo, hi).StoreUnsafe(ref tb, (nuint)(16 * i));
        }
        ref var d = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dst[..256]);
        for (var j = 0; j < 16; ++j)
        {
            for (var i = 0; i < 16; ++i)
            {
                Unsafe.Add(ref d, 16 * j + i) = Unsafe.Add(ref tb, 16 * i + j);
            }
        }
    }

    /// <summary>Sixteen-lane <see cref="LaneSearch.Q3"/> (ggml's <c>make_q3_quants</c>, do_rmse).</summary>
    public static Vector512<float> Q3(ReadOnlySpan<Vector512<float>> x, int nmax, Span<Vector512<int>> levels)
    {
        var n = x.Length;
        var zero = Vector512<float>.Zero;
        var max = zero;
        var amax = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax = Vector512.Abs(x[i]);
            var larger = Vector512.GreaterThan(ax, amax);
            amax = Vector512.ConditionalSelect(larger, ax, amax);
            max = Vector512.ConditionalSelect(larger, x[i], max);
        }
        var live = ~Vector512.LessThan(amax, Vector512.Create(GgmlMath.GroupMaxEps));
        var liveInt = live.AsInt32();

        var lo = Vector512.Create(-nmax);
        var hi = Vector512.Create(nmax - 1);
        var iscale = Vector512.Create((float)-nmax) / max;
        var sumlx = zero;
        var suml2 = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector512.Max(lo, Vector512.Min(hi, NearestInt(iscale * x[i])));
            levels[i] = l;
            var lf = Vector512.ConvertToSingle(l);
            var w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = Vector512<int>.Zero;
            for (var i = 0; i < n; ++i)
            {
                var xi = x[i];
                var w = xi * xi;
                var wx = w * xi;
                var li = levels[i];
                var lf = Vector512.ConvertToSingle(li);
                var slx = sumlx - wx * lf;
                var sl2 = suml2 - w * lf * lf;
                var newL = Vector512.Max(lo, Vector512.Min(hi, NearestInt(xi * sl2 / slx)));
                var nf = Vector512.ConvertToSingle(newL);
                var slxNew = slx + wx * nf;
                var sl2New = sl2 + w * nf * nf;
                var update = (Vector512.GreaterThan(slx, zero) & Vector512.GreaterThan(sl2New, zero)
                    & Vector512.GreaterThan(slxNew * slxNew * suml2, sumlx * sumlx * sl2New)).AsInt32()
                    & ~Vector512.Equals(newL, li) & liveInt;
                levels[i] = Vector512.ConditionalSelect(update, newL, li);
                sumlx = Vector512.ConditionalSelect(update.AsSingle(), slxNew, sumlx);
                suml2 = Vector512.ConditionalSelect(update.AsSingle(), sl2New, suml2);
                changed |= update;
            }
            if (changed == Vector512<int>.Zero)
            {
                break;
            }
        }
        var bias = Vector512.Create(nmax);
        for (var i = 0; i < n; ++i)
        {
            levels[i] = (levels[i] + bias) & liveInt;
        }
        var scale = Vector512.ConditionalSelect(Vector512.GreaterThan(suml2, zero), sumlx / suml2, zero);
        return scale & live;
    }
}
