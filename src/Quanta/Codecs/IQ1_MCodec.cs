using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ1_M: 1.75 bits per weight; layout <c>block_iq1_m</c> (56 bytes): qs[32], qh[16] (high index bits and shift
/// signs per point), scales[8] (3-bit scales; the fp16 super-scale is spread over their top nibbles). Encodes as
/// ggml's <c>quantize_row_iq1_m_impl</c> (with or without importance weights) and decodes as
/// <c>dequantize_row_iq1_m</c>, bit for bit.
/// </summary>
public sealed class IQ1_MCodec : SuperBlockCodec
{
    private const int GroupSize = 16;
    private const int Groups = SuperBlockCodec.SuperBlockSize / GroupSize;
    private const int QhOffset = 32;
    private const int ScalesOffset = 32 + 16;

    /// <summary>ggml's <c>GROUP_MAX_EPS_IQ1_M</c>: a group whose largest magnitude is below this is zero.</summary>
    private const float GroupMaxEps = 1e-7f;

    public IQ1_MCodec()
        : this(VectorizeByDefault)
    {
    }

    /// <param name="vectorized">
    /// Score each split's four shift choices in one vector (<see cref="BestSplitLanes"/>), sort by rank and search
    /// neighbours eight at a time, as IQ1_S does; the bytes are the same.
    /// </param>
    internal IQ1_MCodec(bool vectorized)
        : base(GgmlType.IQ1_M, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) => EncodeSuperBlock(x, default, Vectorized, block);

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block) =>
        EncodeSuperBlock(x, importance, Vectorized, block);

    /// <summary>The shift bits of each shift choice (0: both halves up … 3: both down), ggml's <c>masks</c>.</summary>
    private static ReadOnlySpan<byte> ShiftMasks => [0x00, 0x80, 0x08, 0x88];

    /// <summary>Levels of half <paramref name="k"/> of a group shifted up or down under shift choice <paramref name="shift"/>.</summary>
    private static ReadOnlySpan<float> LevelsOf(int shift, int k) =>
        (k == 0 ? shift < 2 : shift % 2 == 0) ? Iq1Encoding.ShiftedUp : Iq1Encoding.ShiftedDown;

    private static void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, bool vectorized, Span<byte> block)
    {
        var neighbours = Iq1Neighbours.Instance;
        Span<float> scales = stackalloc float[Groups];
        Span<sbyte> shifts = stackalloc sbyte[Groups];
        Span<float> weights = stackalloc float[SuperBlockCodec.SuperBlockSize];
        Span<int> order = stackalloc int[GroupSize];
        Span<byte> levels = stackalloc byte[GroupSize];
        Span<int> indices = stackalloc int[SuperBlockCodec.SuperBlockSize / 8];
        block.Clear();
        indices.Clear();
        var qs = block[..32];
        var qh = block.Slice(QhOffset, 16);

        float maxScale = 0;
        var sigma2 = Iq3Encoding.Sigma2(x);
        for (var i = 0; i < x.Length; ++i)
        {
            weights[i] = importance.IsEmpty ? x[i] * x[i] : importance[i] * MathF.Sqrt(sigma2 + x[i] * x[i]);
        }
        for (var ib = 0; ib < Groups; ++ib)
        {
            var xb = x.Slice(GroupSize * ib, GroupSize);
            var weight = weights.Slice(GroupSize * ib, GroupSize);
            var max = MathF.Abs(xb[0]);
            for (var i = 1; i < GroupSize; ++i)
            {
                var a = MathF.Abs(xb[i]);
                max = max > a ? max : a;
            }
            if (max < GroupMaxEps)
            {
                // ggml before 2026 left the shift slot as an earlier super-block had set it; now it is cleared.
                scales[ib] = 0;
                shifts[ib] = 0;
                continue;
            }

            if (vectorized)
            {
                Iq1Encoding.SortAscendingLanes(xb, order);
            }
            else
            {
                Iq1Encoding.SortAscending(xb, order);
            }
            var (scale, besti1, besti2, bestK) = vectorized ? BestSplitLanes(xb, weight, order, max) : BestSplit(xb, weight, order, max);
            for (var j = 0; j < besti1; ++j)
            {
                levels[order[j]] = 0;
            }
            for (var j = besti1; j < besti2; ++j)
            {
                levels[order[j]] = 1;
            }
            for (var j = besti2; j < GroupSize; ++j)
            {
                levels[order[j]] = 2;
            }
            if (scale < 0)
            {
                for (var j = 0; j < GroupSize; ++j)
                {
                    levels[j] = (byte)(2 - levels[j]);
                }
                scale = -scale;
                bestK = 3 - bestK;
            }

            var allOnGrid = true;
            for (var k = 0; k < GroupSize / 8; ++k)
            {
                var code = 0;
                for (var j = 0; j < 8; ++j)
                {
                    code |= levels[8 * k + j] << (2 * j);
                }
                var gridIndex = neighbours.GridIndexOf(code);
                if (gridIndex < 0)
                {
                    allOnGrid = false;
                    gridIndex = vectorized
                        ? Iq1Encoding.BestNeighbourLanes(neighbours, code, xb.Slice(8 * k, 8), weight.Slice(8 * k, 8), scale, LevelsOf(bestK, k))
                        : Iq1Encoding.BestNeighbour(
                            neighbours.NeighboursOf(code), xb.Slice(8 * k, 8), weight.Slice(8 * k, 8), scale, LevelsOf(bestK, k));
                }
                indices[2 * ib + k] = gridIndex;
            }
            if (!allOnGrid)
            {
                float sumqx = 0, sumq2 = 0;
                for (var k = 0; k < GroupSize / 8; ++k)
                {
                    var xx = LevelsOf(bestK, k);
                    var point = Iq1Grids.Iq1S[indices[2 * ib + k]];
                    for (var j = 0; j < 8; ++j)
                    {
                        var w = weight[8 * k + j];
                        var q = xx[(sbyte)(point >> (8 * j)) + 1];
                        sumqx += w * q * xb[8 * k + j];
                        sumq2 += w * q * q;
                    }
                }
                if (sumqx > 0 && sumq2 > 0)
                {
                    scale = sumqx / sumq2;
                }
            }
            qs[2 * ib] = (byte)indices[2 * ib];
            qs[2 * ib + 1] = (byte)indices[2 * ib + 1];
            qh[ib] = (byte)((indices[2 * ib] >> 8) | ((indices[2 * ib + 1] >> 8) << 4));
            scales[ib] = scale;
            shifts[ib] = (sbyte)bestK;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        if (maxScale == 0)
        {
            return;
        }

        // The block scale is refitted to the quantized values, with each group's 3-bit scale applied.
        Span<ushort> sc = stackalloc ushort[4];
        sc.Clear();
        var d = maxScale / 15;
        var id = 1 / d;
        float sumqxAll = 0, sumq2All = 0;
        for (var ib = 0; ib < Groups; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 7);
            sc[ib / 4] |= (ushort)(l << (3 * (ib % 4)));
            qh[ib] |= ShiftMasks[shifts[ib]];
            var xb = x.Slice(GroupSize * ib, GroupSize);
            var weight = weights.Slice(GroupSize * ib, GroupSize);
            for (var k = 0; k < GroupSize / 8; ++k)
            {
                var xx = LevelsOf(shifts[ib], k);
                var point = Iq1Grids.Iq1S[indices[2 * ib + k]];
                for (var j = 0; j < 8; ++j)
                {
                    var w = weight[8 * k + j];
                    var q = xx[(sbyte)(point >> (8 * j)) + 1] * (2 * l + 1);
                    sumqxAll += w * q * xb[8 * k + j];
                    sumq2All += w * q * q;
                }
            }
        }
        if (sumq2All > 0)
        {
            d = sumqxAll / sumq2All;
        }
        var s = Fp16.FromFloat(d * 1.1125f);
        sc[0] |= (ushort)((s & 0x000f) << 12);
        sc[1] |= (ushort)((s & 0x00f0) << 8);
        sc[2] |= (ushort)((s & 0x0f00) << 4);
        sc[3] |= (ushort)(s & 0xf000);
        for (var i = 0; i < 4; ++i)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block[(ScalesOffset + 2 * i)..], sc[i]);
        }
    }

    /// <summary>
    /// The exhaustive split search: values below sorted position i1 take level −1, from i1 to i2 level 0, the rest
    /// +1, each half of the group shifted up or down (four choices k). ggml recomputes every sum from zero for each
    /// (i1, i2); adding the same terms in the same order from a kept prefix gives the same floats, so the prefix
    /// below i1 and the middle run are carried and only the top run is summed afresh.
    /// </summary>
    private static (float Scale, int I1, int I2, int K) BestSplit(ReadOnlySpan<float> xb, ReadOnlySpan<float> weight, ReadOnlySpan<int> order, float max)
    {
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        // term[(j * 3 + level) * 4 + k]: what sorted value j adds to sumqx[k] (and sumq2[k]) at that level.
        Span<float> termQx = stackalloc float[GroupSize * 3 * 4];
        Span<float> termQ2 = stackalloc float[GroupSize * 3 * 4];
        for (var j = 0; j < GroupSize; ++j)
        {
            var i = order[j];
            var w = weight[i];
            for (var g = 0; g < 3; ++g)
            {
                var px = w * up[g] * xb[i];
                var mx = w * down[g] * xb[i];
                var p2 = w * up[g] * up[g];
                var m2 = w * down[g] * down[g];
                var t = (j * 3 + g) * 4;
                var firstHalf = i < GroupSize / 2;
                // k = 0: both up, 1: first up second down, 2: first down second up, 3: both down.
                termQx[t] = px;
                termQx[t + 1] = firstHalf ? px : mx;
                termQx[t + 2] = firstHalf ? mx : px;
                termQx[t + 3] = mx;
                termQ2[t] = p2;
                termQ2[t + 1] = firstHalf ? p2 : m2;
                termQ2[t + 2] = firstHalf ? m2 : p2;
                termQ2[t + 3] = m2;
            }
        }

        float bestScore = -Iq1Encoding.FltMin, scale = max;
        int besti1 = -1, besti2 = -1, bestK = -1;
        Span<float> lowQx = stackalloc float[4];
        Span<float> lowQ2 = stackalloc float[4];
        Span<float> midQx = stackalloc float[4];
        Span<float> midQ2 = stackalloc float[4];
        lowQx.Clear();
        lowQ2.Clear();
        for (var i1 = 0; i1 <= GroupSize; ++i1)
        {
            if (i1 > 0)
            {
                Add(lowQx, lowQ2, termQx, termQ2, ((i1 - 1) * 3 + 0) * 4);
            }
            lowQx.CopyTo(midQx);
            lowQ2.CopyTo(midQ2);
            for (var i2 = i1; i2 <= GroupSize; ++i2)
            {
                if (i2 > i1)
                {
                    Add(midQx, midQ2, termQx, termQ2, ((i2 - 1) * 3 + 1) * 4);
                }
                float qx0 = midQx[0], qx1 = midQx[1], qx2 = midQx[2], qx3 = midQx[3];
                float q20 = midQ2[0], q21 = midQ2[1], q22 = midQ2[2], q23 = midQ2[3];
                for (var j = i2; j < GroupSize; ++j)
                {
                    var t = (j * 3 + 2) * 4;
                    qx0 += termQx[t];
                    qx1 += termQx[t + 1];
                    qx2 += termQx[t + 2];
                    qx3 += termQx[t + 3];
                    q20 += termQ2[t];
                    q21 += termQ2[t + 1];
                    q22 += termQ2[t + 2];
                    q23 += termQ2[t + 3];
                }
                Consider(qx0, q20, 0);
                Consider(qx1, q21, 1);
                Consider(qx2, q22, 2);
                Consider(qx3, q23, 3);

                void Consider(float sumqx, float sumq2, int k)
                {
                    if (sumq2 > 0 && sumqx * sumqx > bestScore * sumq2)
                    {
                        scale = sumqx / sumq2;
                        bestScore = scale * sumqx;
                        besti1 = i1;
                        besti2 = i2;
                        bestK = k;
                    }
                }
            }
        }
        if (besti1 < 0)
        {
            // ggml asserts here; it happens only when every weight of the group is zero or negative.
            throw new ArgumentException("iq1_m: no scale fits a group of 16 values (its weights are all zero or negative)", "importance");
        }
        return (scale, besti1, besti2, bestK);
    }

    /// <summary>
    /// <see cref="BestSplit"/> with a split's eight sums in one vector: lanes 0–3 hold sumqx for the four shift
    /// choices, lanes 4–7 sumq2, each added term by term in the scalar order (so the same floats). The scalar test
    /// and update run, in ggml's order of k, only for the splits where some lane beats the best score as it stands;
    /// where none does, none of the four scalar tests would pass, so nothing is skipped that ggml would keep.
    /// </summary>
    [SkipLocalsInit]
    private static (float Scale, int I1, int I2, int K) BestSplitLanes(ReadOnlySpan<float> xb, ReadOnlySpan<float> weight, ReadOnlySpan<int> order, float max)
    {
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        // terms[j * 3 + level]: what sorted value j adds at that level, the same floats as BestSplit's tables.
        Span<Vector256<float>> terms = stackalloc Vector256<float>[GroupSize * 3];
        for (var j = 0; j < GroupSize; ++j)
        {
            var i = order[j];
            var w = weight[i];
            var firstHalf = i < GroupSize / 2;
            for (var g = 0; g < 3; ++g)
            {
                var px = w * up[g] * xb[i];
                var mx = w * down[g] * xb[i];
                var p2 = w * up[g] * up[g];
                var m2 = w * down[g] * down[g];
                terms[j * 3 + g] = firstHalf
                    ? Vector256.Create(px, px, mx, mx, p2, p2, m2, m2)
                    : Vector256.Create(px, mx, px, mx, p2, m2, p2, m2);
            }
        }

        float bestScore = -Iq1Encoding.FltMin, scale = max;
        int besti1 = -1, besti2 = -1, bestK = -1;
        ref var t = ref MemoryMarshal.GetReference(terms);
        var low = Vector256<float>.Zero;
        for (var i1 = 0; i1 <= GroupSize; ++i1)
        {
            if (i1 > 0)
            {
                low += Unsafe.Add(ref t, (i1 - 1) * 3);
            }
            var mid = low;
            for (var i2 = i1; i2 <= GroupSize; ++i2)
            {
                if (i2 > i1)
                {
                    mid += Unsafe.Add(ref t, (i2 - 1) * 3 + 1);
                }
                var sums = mid;
                for (var j = i2; j < GroupSize; ++j)
                {
                    sums += Unsafe.Add(ref t, j * 3 + 2);
                }
                var qx = sums.GetLower();
                var q2 = sums.GetUpper();
                var beats = Vector128.GreaterThan(q2, Vector128<float>.Zero) & Vector128.GreaterThan(qx * qx, Vector128.Create(bestScore) * q2);
                if (beats == Vector128<float>.Zero)
                {
                    continue;
                }
                for (var k = 0; k < 4; ++k)
                {
                    var sumqx = qx.GetElement(k);
                    var sumq2 = q2.GetElement(k);
                    if (sumq2 > 0 && sumqx * sumqx > bestScore * sumq2)
                    {
                        scale = sumqx / sumq2;
                        bestScore = scale * sumqx;
                        besti1 = i1;
                        besti2 = i2;
                        bestK = k;
                    }
                }
            }
        }
        if (besti1 < 0)
        {
            throw new ArgumentException("iq1_m: no scale fits a group of 16 values (its weights are all zero or negative)", "importance");
        }
        return (scale, besti1, besti2, bestK);
    }

    private static void Add(Span<float> qx, Span<float> q2, ReadOnlySpan<float> termQx, ReadOnlySpan<float> termQ2, int t)
    {
        for (var k = 0; k < 4; ++k)
        {
            qx[k] += termQx[t + k];
            q2[k] += termQ2[t + k];
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq1M(block, y);
}
