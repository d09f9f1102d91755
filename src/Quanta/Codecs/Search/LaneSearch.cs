using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Codecs.Search;

/// <summary>
/// The K-quant searches run on eight independent groups at once, one group (sub-block) per lane of a
/// <see cref="Vector256{T}"/>. Element i of every group sits in <c>x[i]</c>, so each lane performs exactly the
/// scalar routine's operations in exactly its order — every sum stays a sequential float32 loop, just eight of them
/// side by side — and the result is bit-identical to <see cref="SymmetricSearch"/>, <see cref="AffineSearch"/>
/// (and so to ggml). Scalar branches become per-lane masks: a lane whose condition is false keeps its state,
/// which is what the scalar code does by not entering the branch. Vector multiply and add are never fused by
/// RyuJIT, and division and square root are correctly rounded, as in the scalar code.
/// </summary>
internal static class LaneSearch
{
    public const int Lanes = 8;

    /// <summary><see cref="GgmlMath.NearestInt"/> on every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> NearestInt(Vector256<float> value) =>
        ((value + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);

    /// <summary>Loads <c>x[i] = (src[i], src[stride + i], …, src[7·stride + i])</c> for i &lt; x.Length.</summary>
    public static void Transpose(ReadOnlySpan<float> src, int stride, Span<Vector256<float>> x)
    {
        var i = 0;
        if (Avx.IsSupported && src.Length >= 7 * stride + (x.Length & ~7))
        {
            // Eight rows of eight at a time through AVX's 8 × 8 shuffle transpose (pure data movement).
            ref var s = ref MemoryMarshal.GetReference(src);
            for (; i + Lanes <= x.Length; i += Lanes)
            {
                Transpose8x8(
                    Vector256.LoadUnsafe(ref s, (nuint)i), Vector256.LoadUnsafe(ref s, (nuint)(stride + i)),
                    Vector256.LoadUnsafe(ref s, (nuint)(2 * stride + i)), Vector256.LoadUnsafe(ref s, (nuint)(3 * stride + i)),
                    Vector256.LoadUnsafe(ref s, (nuint)(4 * stride + i)), Vector256.LoadUnsafe(ref s, (nuint)(5 * stride + i)),
                    Vector256.LoadUnsafe(ref s, (nuint)(6 * stride + i)), Vector256.LoadUnsafe(ref s, (nuint)(7 * stride + i)),
                    x.Slice(i, Lanes));
            }
        }
        for (; i < x.Length; ++i)
        {
            x[i] = Vector256.Create(src[i], src[stride + i], src[2 * stride + i], src[3 * stride + i],
                src[4 * stride + i], src[5 * stride + i], src[6 * stride + i], src[7 * stride + i]);
        }
    }

    /// <summary>
    /// The 8 × 8 transpose of rows <paramref name="r0"/>…<paramref name="r7"/>: lane k of <c>columns[j]</c> is
    /// lane j of row k (unpack, shuffle, then swap 128-bit halves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, Span<Vector256<float>> columns)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        columns[0] = Avx.Permute2x128(u0, u4, 0x20);
        columns[1] = Avx.Permute2x128(u1, u5, 0x20);
        columns[2] = Avx.Permute2x128(u2, u6, 0x20);
        columns[3] = Avx.Permute2x128(u3, u7, 0x20);
        columns[4] = Avx.Permute2x128(u0, u4, 0x31);
        columns[5] = Avx.Permute2x128(u1, u5, 0x31);
        columns[6] = Avx.Permute2x128(u2, u6, 0x31);
        columns[7] = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>Stores lane k of <c>levels[i]</c> to <c>dst[k·stride + i]</c> as a byte (levels are 0..255).</summary>
    [SkipLocalsInit]
    public static void Untranspose(ReadOnlySpan<Vector256<int>> levels, int stride, Span<byte> dst)
    {
        var i = 0;
        if (Avx.IsSupported && stride >= levels.Length && dst.Length >= 7 * stride + (levels.Length & ~7))
        {
            // Transpose eight vectors back to eight rows, narrow them to bytes (levels fit), store 8 bytes per row.
            Span<Vector256<float>> rows = stackalloc Vector256<float>[Lanes];
            ref var d = ref MemoryMarshal.GetReference(dst);
            for (; i + Lanes <= levels.Length; i += Lanes)
            {
                Transpose8x8(levels[i].AsSingle(), levels[i + 1].AsSingle(), levels[i + 2].AsSingle(), levels[i + 3].AsSingle(),
                    levels[i + 4].AsSingle(), levels[i + 5].AsSingle(), levels[i + 6].AsSingle(), levels[i + 7].AsSingle(), rows);
                for (var k = 0; k < Lanes; k += 4)
                {
                    var bytes = Vector256.Narrow(
                        Vector256.Narrow(rows[k].AsUInt32(), rows[k + 1].AsUInt32()),
                        Vector256.Narrow(rows[k + 2].AsUInt32(), rows[k + 3].AsUInt32())).AsUInt64();
                    for (var r = 0; r < 4; ++r)
                    {
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, (k + r) * stride + i), bytes.GetElement(r));
                    }
                }
            }
        }
        Span<int> lane = stackalloc int[Lanes];
        for (; i < levels.Length; ++i)
        {
            levels[i].CopyTo(lane);
            for (var k = 0; k < Lanes; ++k)
            {
                dst[k * stride + i] = unchecked((byte)lane[k]);
            }
        }
    }

    /// <summary>Signed-byte variant of <see cref="Untranspose(ReadOnlySpan{Vector256{int}}, int, Span{byte})"/>.</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<int>> levels, int stride, Span<sbyte> dst) =>
        Untranspose(levels, stride, MemoryMarshal.Cast<sbyte, byte>(dst));

    /// <summary>
    /// Lane-parallel <see cref="AffineSearch.MakeQkx2"/> / <see cref="AffineSearch.MakeQkx3"/> (they coincide with
    /// weights). <paramref name="levels"/> receives 0..nmax; <paramref name="scratch"/> holds x.Length vectors.
    /// </summary>
    public static Vector256<float> Affine(ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> weights, int nmax,
        Span<Vector256<int>> levels, Span<Vector256<int>> scratch, float rmin, float rdelta, int nstep, bool useMad,
        out Vector256<float> theMin)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var min = x[0];
        var max = x[0];
        var sumW = weights[0];
        var sumX = sumW * x[0];
        for (var i = 1; i < n; ++i)
        {
            var xi = x[i];
            // `if (x < min) min = x` exactly, including which of -0/+0 survives (Vector256.Min may differ there).
            min = Vector256.ConditionalSelect(Vector256.LessThan(xi, min), xi, min);
            max = Vector256.ConditionalSelect(Vector256.GreaterThan(xi, max), xi, max);
            var w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        min = Vector256.ConditionalSelect(Vector256.GreaterThan(min, zero), zero, min);
        // Lanes whose values are all equal return early in the scalar code; here they are frozen and fixed up last.
        var flat = Vector256.Equals(max, min);
        var live = ~flat;

        var top = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)nmax) / (max - min);
        var scale = Vector256.Create(1f) / iscale;
        var bestError = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Min(Vector256.Max(NearestInt(iscale * (x[i] - min)), Vector256<int>.Zero), top);
            levels[i] = l;
            var diff = scale * Vector256.ConvertToSingle(l) + min - x[i];
            diff = useMad ? Vector256.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }

        for (var step = 0; step <= nstep; ++step)
        {
            // `max - min` uses the current min, which an accepted step replaces, as in ggml.
            var stepIscale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min);
            var sumL = zero;
            var sumL2 = zero;
            var sumXL = zero;
            for (var i = 0; i < n; ++i)
            {
                var l = Vector256.Min(Vector256.Max(NearestInt(stepIscale * (x[i] - min)), Vector256<int>.Zero), top);
                scratch[i] = l;
                var lf = Vector256.ConvertToSingle(l);
                var w = weights[i];
                sumL += w * lf;
                sumL2 += w * lf * lf;
                sumXL += w * lf * x[i];
            }
            var det = sumW * sumL2 - sumL * sumL;
            var candidates = Vector256.GreaterThan(det, zero) & live;
            if (candidates == zero)
            {
                continue;
            }
            var thisScale = (sumW * sumXL - sumX * sumL) / det;
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            var positiveMin = Vector256.GreaterThan(thisMin, zero);
            thisMin = Vector256.ConditionalSelect(positiveMin, zero, thisMin);
            thisScale = Vector256.ConditionalSelect(positiveMin, sumXL / sumL2, thisScale);
            var error = zero;
            for (var i = 0; i < n; ++i)
            {
                var diff = thisScale * Vector256.ConvertToSingle(scratch[i]) + thisMin - x[i];
                diff = useMad ? Vector256.Abs(diff) : diff * diff;
                error += weights[i] * diff;
            }
            var accept = candidates & Vector256.LessThan(error, bestError);
            if (accept == zero)
            {
                continue;
            }
            var acceptInt = accept.AsInt32();
            for (var i = 0; i < n; ++i)
            {
                levels[i] = Vector256.ConditionalSelect(acceptInt, scratch[i], levels[i]);
            }
            bestError = Vector256.ConditionalSelect(accept, error, bestError);
            scale = Vector256.ConditionalSelect(accept, thisScale, scale);
            min = Vector256.ConditionalSelect(accept, thisMin, min);
        }

        var liveInt = live.AsInt32();
        for (var i = 0; i < n; ++i)
        {
            levels[i] &= liveInt;
        }
        theMin = -min;
        return scale & live;
    }

    /// <summary>
    /// Lane-parallel <see cref="SymmetricSearch.MakeQx"/> (ggml's <c>make_qx_quants</c>, rmse_type 1).
    /// <paramref name="weights"/> empty means <c>x²</c>. <paramref name="levels"/> receives <c>q + nmax</c>.
    /// </summary>
    public static Vector256<float> Symmetric(ReadOnlySpan<Vector256<float>> x, int nmax, Span<Vector256<int>> levels,
        ReadOnlySpan<Vector256<float>> weights, Span<Vector256<int>> scratch)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var max = zero;
        var amax = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        var live = ~Vector256.LessThan(amax, Vector256.Create(GgmlMath.GroupMaxEps));

        var weighted = !weights.IsEmpty;
        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        var bias = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = zero;
        var suml2 = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            levels[i] = l + bias;
            var lf = Vector256.ConvertToSingle(l);
            var w = weighted ? weights[i] : x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        // C: `suml2 ? sumlx/suml2 : 0` — any non-zero, NaN included, divides.
        var scale = Vector256.ConditionalSelect(Vector256.Equals(suml2, zero), zero, sumlx / suml2);
        var best = scale * sumlx;
        for (var step = -9; step <= 9; ++step)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = Vector256.Create(-(nmax + 0.1f * step)) / max;
            sumlx = zero;
            suml2 = zero;
            for (var i = 0; i < n; ++i)
            {
                var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
                scratch[i] = l + bias;
                var lf = Vector256.ConvertToSingle(l);
                var w = weighted ? weights[i] : x[i] * x[i];
                sumlx += w * x[i] * lf;
                suml2 += w * lf * lf;
            }
            var accept = Vector256.GreaterThan(suml2, zero) & Vector256.GreaterThan(sumlx * sumlx, best * suml2) & live;
            if (accept == zero)
            {
                continue;
            }
            var acceptInt = accept.AsInt32();
            for (var i = 0; i < n; ++i)
            {
                levels[i] = Vector256.ConditionalSelect(acceptInt, scratch[i], levels[i]);
            }
            var newScale = sumlx / suml2;
            scale = Vector256.ConditionalSelect(accept, newScale, scale);
            best = Vector256.ConditionalSelect(accept, newScale * sumlx, best);
        }

        // All-zero lanes: ggml leaves L at 0 (not nmax) and returns 0.
        var liveInt = live.AsInt32();
        for (var i = 0; i < n; ++i)
        {
            levels[i] &= liveInt;
        }
        return scale & live;
    }

    /// <summary>
    /// Lane-parallel <see cref="SymmetricSearch.MakeQ3"/> (ggml's <c>make_q3_quants</c>, do_rmse). A lane that made
    /// no change in a refinement pass would make none in the next (the pass is a function of its state), so running
    /// further passes while other lanes still change leaves it exactly where the scalar early exit does.
    /// </summary>
    public static Vector256<float> Q3(ReadOnlySpan<Vector256<float>> x, int nmax, Span<Vector256<int>> levels)
    {
        var n = x.Length;
        var zero = Vector256<float>.Zero;
        var max = zero;
        var amax = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax = Vector256.Abs(x[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        var live = ~Vector256.LessThan(amax, Vector256.Create(GgmlMath.GroupMaxEps));
        var liveInt = live.AsInt32();

        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        var iscale = Vector256.Create((float)-nmax) / max;
        var sumlx = zero;
        var suml2 = zero;
        for (var i = 0; i < n; ++i)
        {
            var l = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            levels[i] = l;
            var lf = Vector256.ConvertToSingle(l);
            var w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = Vector256<int>.Zero;
            for (var i = 0; i < n; ++i)
            {
                var xi = x[i];
                var w = xi * xi;
                var li = levels[i];
                var lf = Vector256.ConvertToSingle(li);
                var slx = sumlx - w * xi * lf;
                var sl2 = suml2 - w * lf * lf;
                var newL = Vector256.Max(lo, Vector256.Min(hi, NearestInt(xi * sl2 / slx)));
                var nf = Vector256.ConvertToSingle(newL);
                var slxNew = slx + w * xi * nf;
                var sl2New = sl2 + w * nf * nf;
                var update = (Vector256.GreaterThan(slx, zero) & Vector256.GreaterThan(sl2New, zero)
                    & Vector256.GreaterThan(slxNew * slxNew * suml2, sumlx * sumlx * sl2New)).AsInt32()
                    & ~Vector256.Equals(newL, li) & liveInt;
                levels[i] = Vector256.ConditionalSelect(update, newL, li);
                sumlx = Vector256.ConditionalSelect(update.AsSingle(), slxNew, sumlx);
                suml2 = Vector256.ConditionalSelect(update.AsSingle(), sl2New, suml2);
                changed |= update;
            }
            if (changed == Vector256<int>.Zero)
            {
                break;
            }
        }
        var bias = Vector256.Create(nmax);
        for (var i = 0; i < n; ++i)
        {
            levels[i] = (levels[i] + bias) & liveInt;
        }
        var scale = Vector256.ConditionalSelect(Vector256.GreaterThan(suml2, zero), sumlx / suml2, zero);
        return scale & live;
    }
    /// <summary>
    /// <see cref="Q3"/> on two groups of eight sub-blocks at once (<paramref name="x0"/>, <paramref name="x1"/>), their
    /// operations interleaved: each lane's refinement pass is one long dependency chain (a division, a comparison and a
    /// select per value), so two independent chains side by side keep a 256-bit core as busy as one 512-bit chain.
    /// Every lane does exactly <see cref="Q3"/>'s operations; a lane that stopped changing stays put in extra passes.
    /// Writes sub-block j's scale to <c>scales[j]</c> (group 0) and <c>scales[8 + j]</c> (group 1).
    /// </summary>
    public static void Q3Pair(ReadOnlySpan<Vector256<float>> x0, ReadOnlySpan<Vector256<float>> x1, int nmax,
        Span<Vector256<int>> levels0, Span<Vector256<int>> levels1, Span<float> scales)
    {
        var n = x0.Length;
        x1 = x1[..n];
        levels0 = levels0[..n];
        levels1 = levels1[..n];
        var zero = Vector256<float>.Zero;
        var max0 = zero;
        var amax0 = zero;
        var max1 = zero;
        var amax1 = zero;
        for (var i = 0; i < n; ++i)
        {
            var ax0 = Vector256.Abs(x0[i]);
            var larger0 = Vector256.GreaterThan(ax0, amax0);
            amax0 = Vector256.ConditionalSelect(larger0, ax0, amax0);
            max0 = Vector256.ConditionalSelect(larger0, x0[i], max0);
            var ax1 = Vector256.Abs(x1[i]);
            var larger1 = Vector256.GreaterThan(ax1, amax1);
            amax1 = Vector256.ConditionalSelect(larger1, ax1, amax1);
            max1 = Vector256.ConditionalSelect(larger1, x1[i], max1);
        }
        var eps = Vector256.Create(GgmlMath.GroupMaxEps);
        var live0 = ~Vector256.LessThan(amax0, eps);
        var live1 = ~Vector256.LessThan(amax1, eps);
        var liveInt0 = live0.AsInt32();
        var liveInt1 = live1.AsInt32();

        var lo = Vector256.Create(-nmax);
        var hi = Vector256.Create(nmax - 1);
        var iscale0 = Vector256.Create((float)-nmax) / max0;
        var iscale1 = Vector256.Create((float)-nmax) / max1;
        var sumlx0 = zero;
        var suml20 = zero;
        var sumlx1 = zero;
        var suml21 = zero;
        for (var i = 0; i < n; ++i)
        {
            var xa = x0[i];
            var la = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale0 * xa)));
            levels0[i] = la;
            var lfa = Vector256.ConvertToSingle(la);
            var wa = xa * xa;
            sumlx0 += wa * xa * lfa;
            suml20 += wa * lfa * lfa;
            var xb = x1[i];
            var lb = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale1 * xb)));
            levels1[i] = lb;
            var lfb = Vector256.ConvertToSingle(lb);
            var wb = xb * xb;
            sumlx1 += wb * xb * lfb;
            suml21 += wb * lfb * lfb;
        }
        for (var pass = 0; pass < 5; ++pass)
        {
            var changed = Vector256<int>.Zero;
            for (var i = 0; i < n; ++i)
            {
                var xa = x0[i];
                var wa = xa * xa;
                var wxa = wa * xa;
                var la = levels0[i];
                var lfa = Vector256.ConvertToSingle(la);
                var slxa = sumlx0 - wxa * lfa;
                var sl2a = suml20 - wa * lfa * lfa;
                var xb = x1[i];
                var wb = xb * xb;
                var wxb = wb * xb;
                var lb = levels1[i];
                var lfb = Vector256.ConvertToSingle(lb);
                var slxb = sumlx1 - wxb * lfb;
                var sl2b = suml21 - wb * lfb * lfb;
                var newA = Vector256.Max(lo, Vector256.Min(hi, NearestInt(xa * sl2a / slxa)));
                var newB = Vector256.Max(lo, Vector256.Min(hi, NearestInt(xb * sl2b / slxb)));
                var nfa = Vector256.ConvertToSingle(newA);
                var nfb = Vector256.ConvertToSingle(newB);
                var slxNewA = slxa + wxa * nfa;
                var sl2NewA = sl2a + wa * nfa * nfa;
                var slxNewB = slxb + wxb * nfb;
                var sl2NewB = sl2b + wb * nfb * nfb;
                var updateA = (Vector256.GreaterThan(slxa, zero) & Vector256.GreaterThan(sl2NewA, zero)
                    & Vector256.GreaterThan(slxNewA * slxNewA * suml20, sumlx0 * sumlx0 * sl2NewA)).AsInt32()
                    & ~Vector256.Equals(newA, la) & liveInt0;
                var updateB = (Vector256.GreaterThan(slxb, zero) & Vector256.GreaterThan(sl2NewB, zero)
                    & Vector256.GreaterThan(slxNewB * slxNewB * suml21, sumlx1 * sumlx1 * sl2NewB)).AsInt32()
                    & ~Vector256.Equals(newB, lb) & liveInt1;
                levels0[i] = Vector256.ConditionalSelect(updateA, newA, la);
                sumlx0 = Vector256.ConditionalSelect(updateA.AsSingle(), slxNewA, sumlx0);
                suml20 = Vector256.ConditionalSelect(updateA.AsSingle(), sl2NewA, suml20);
                levels1[i] = Vector256.ConditionalSelect(updateB, newB, lb);
                sumlx1 = Vector256.ConditionalSelect(updateB.AsSingle(), slxNewB, sumlx1);
                suml21 = Vector256.ConditionalSelect(updateB.AsSingle(), sl2NewB, suml21);
                changed |= updateA | updateB;
            }
            if (changed == Vector256<int>.Zero)
            {
                break;
            }
        }
        var bias = Vector256.Create(nmax);
        for (var i = 0; i < n; ++i)
        {
            levels0[i] = (levels0[i] + bias) & liveInt0;
            levels1[i] = (levels1[i] + bias) & liveInt1;
        }
        (Vector256.ConditionalSelect(Vector256.GreaterThan(suml20, zero), sumlx0 / suml20, zero) & live0).CopyTo(scales);
        (Vector256.ConditionalSelect(Vector256.GreaterThan(suml21, zero), sumlx1 / suml21, zero) & live1).CopyTo(scales[Lanes..]);
    }
}
