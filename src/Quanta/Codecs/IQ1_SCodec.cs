using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ1_S: 1.5625 bits per weight; layout <c>block_iq1_s</c> (50 bytes): d fp16, qs[32] low index bytes, qh[8] u16
/// (3 high index bits per point into <c>iq1s_grid</c>, a 3-bit scale and the sign of the ±1/8 shift). Encodes as
/// ggml's <c>quantize_row_iq1_s_impl</c> (only with importance weights: ggml refuses without) and decodes as
/// <c>dequantize_row_iq1_s</c>, bit for bit.
/// </summary>
public sealed class IQ1_SCodec : SuperBlockCodec
{
    private const int GroupSize = 32;
    private const int Groups = SuperBlockCodec.SuperBlockSize / GroupSize;
    private const int QsOffset = 2;
    private const int QhOffset = 2 + 32;

    /// <summary>ggml's <c>GROUP_MAX_EPS_IQ1_S</c>: a group whose largest magnitude is below this is zero.</summary>
    private const float GroupMaxEps = 1e-12f;

    public IQ1_SCodec()
        : this(VectorizeByDefault)
    {
    }

    /// <param name="vectorized">Score eight splits at once (see <see cref="Iq1SplitSearch"/>); the bytes are the same.</param>
    internal IQ1_SCodec(bool vectorized)
        : base(GgmlType.IQ1_S, vectorized)
    {
    }

    /// <summary>ggml asserts on <c>quant_weights</c>: without an importance matrix IQ1_S is refused.</summary>
    public override bool RequiresImportance => true;

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) =>
        throw new InvalidOperationException("unreachable: SuperBlockCodec refuses to encode without importance weights first");

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block) =>
        EncodeSuperBlock(x, importance, Vectorized, block);

    private static void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, bool vectorized, Span<byte> block)
    {
        var neighbours = Iq1Neighbours.Instance;
        var up = Iq1Encoding.ShiftedUp;
        var down = Iq1Encoding.ShiftedDown;
        Span<float> scales = stackalloc float[Groups];
        Span<sbyte> shifts = stackalloc sbyte[Groups];
        Span<float> weight = stackalloc float[GroupSize];
        // Padded for the vector split search's last lanes (masked off there).
        Span<float> sumx = stackalloc float[GroupSize + 1 + Iq1SplitSearch.Padding];
        Span<float> sumw = stackalloc float[GroupSize + 1 + Iq1SplitSearch.Padding];
        sumx.Clear();
        sumw.Clear();
        Span<int> order = stackalloc int[GroupSize];
        Span<byte> levels = stackalloc byte[GroupSize];
        Span<int> index = stackalloc int[GroupSize / 8];
        block.Clear();
        var qs = block.Slice(QsOffset, 32);
        var qh = block.Slice(QhOffset, 16);

        float maxScale = 0;
        var sigma2 = Iq3Encoding.Sigma2(x);
        for (var ib = 0; ib < Groups; ++ib)
        {
            var xb = x.Slice(GroupSize * ib, GroupSize);
            var qw = importance.Slice(GroupSize * ib, GroupSize);
            for (var i = 0; i < GroupSize; ++i)
            {
                weight[i] = qw[i] * MathF.Sqrt(sigma2 + xb[i] * xb[i]);
            }
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

            // Three levels, so the best split of the sorted values into −1, 0, +1 is found exhaustively from prefix
            // sums of w·x and w in sorted order.
            if (vectorized)
            {
                Iq1Encoding.SortAscendingLanes(xb, order);
            }
            else
            {
                Iq1Encoding.SortAscending(xb, order);
            }
            sumx[0] = sumw[0] = 0;
            for (var j = 0; j < GroupSize; ++j)
            {
                var i = order[j];
                sumx[j + 1] = sumx[j] + weight[i] * xb[i];
                sumw[j + 1] = sumw[j] + weight[i];
            }
            var split = new Iq1Split { Score = -Iq1Encoding.FltMin, Scale = max, I1 = -1, I2 = -1 };
            if (vectorized)
            {
                Iq1SplitSearch.Vector(sumx, sumw, GroupSize, ref split);
            }
            else
            {
                Iq1SplitSearch.Scalar(sumx, sumw, GroupSize, ref split);
            }
            var (scale, besti1, besti2, bestShift) = (split.Scale, split.I1, split.I2, split.Shift);
            if (besti1 < 0)
            {
                // ggml asserts here; it happens only when every weight of the group is zero or negative.
                throw new ArgumentException($"iq1_s: no scale fits a group of 32 values (importance weights all zero or negative there)", nameof(importance));
            }
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
                bestShift = -bestShift;
            }

            var allOnGrid = true;
            var xx = bestShift == 1 ? up : down;
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
                        ? Iq1Encoding.BestNeighbourLanes(neighbours, code, xb.Slice(8 * k, 8), weight.Slice(8 * k, 8), scale, xx)
                        : Iq1Encoding.BestNeighbour(neighbours.NeighboursOf(code), xb.Slice(8 * k, 8), weight.Slice(8 * k, 8), scale, xx);
                }
                index[k] = gridIndex;
            }
            if (!allOnGrid)
            {
                float sumqx = 0, sumq2 = 0;
                for (var k = 0; k < GroupSize / 8; ++k)
                {
                    var point = Iq1Grids.Iq1S[index[k]];
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
            var h = 0;
            for (var k = 0; k < GroupSize / 8; ++k)
            {
                qs[(GroupSize / 8) * ib + k] = (byte)index[k];
                h |= (index[k] >> 8) << (3 * k);
            }
            BinaryPrimitives.WriteUInt16LittleEndian(qh[(2 * ib)..], (ushort)h);
            scales[ib] = scale;
            shifts[ib] = (sbyte)bestShift;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        if (maxScale == 0)
        {
            return;
        }

        var d = maxScale / 15;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d * 1.125f));
        var id = 1 / d;
        for (var ib = 0; ib < Groups; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 7);
            if (shifts[ib] == -1)
            {
                l |= 8;
            }
            var slot = qh[(2 * ib)..];
            BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(slot) | (l << 12)));
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq1S(block, y);
}
