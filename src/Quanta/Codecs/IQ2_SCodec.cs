using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_S: 2.5625 bits per weight; layout <c>block_iq2_s</c> (82 bytes): d fp16, qs[32] low index bytes,
/// signs[32] (one bit per value), qh[8] (2 high index bits per point into <c>iq2s_grid</c>), scales[8] (4 bits per
/// 16 values). Encodes as ggml's <c>quantize_row_iq2_s_impl</c>, with or without importance weights; decodes as
/// <c>dequantize_row_iq2_s</c>.
/// </summary>
public sealed class IQ2_SCodec : SuperBlockCodec
{
    private const int QsOffset = 2;
    private const int SignsOffset = 2 + 32;
    private const int QhOffset = 2 + 64;
    private const int ScalesOffset = 2 + 64 + 8;

    /// <summary>ggml's <c>GROUP_MAX_EPS_IQ2_S</c>.</summary>
    private const float GroupMaxEps = 1e-8f;

    public IQ2_SCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ2_SCodec(bool vectorized)
        : base(GgmlType.IQ2_S, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) => EncodeSuperBlock(x, default, block);

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Iq2Encoding.RejectNegative(importance);
        EncodeSuperBlock(x, importance, block);
    }

    private void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        var lattice = Iq2Lattice.S;
        Span<float> scales = stackalloc float[16];
        Span<float> weight = stackalloc float[16];
        Span<float> waux = stackalloc float[16];
        Span<float> xval = stackalloc float[16];
        Span<sbyte> levels = stackalloc sbyte[16];
        levels.Clear();
        block.Clear();

        var sigma2 = 2 * Iq2Encoding.SumSquares(x) / SuperBlockSize;
        float maxScale = 0;
        for (var ib = 0; ib < 16; ++ib)
        {
            var xb = x.Slice(16 * ib, 16);
            if (importance.IsEmpty)
            {
                for (var i = 0; i < 16; ++i)
                {
                    weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
                }
                Iq2Encoding.SquareRoots(weight, waux);
            }
            else
            {
                Iq2Encoding.ImportanceWeights(xb, importance.Slice(16 * ib, 16), sigma2, weight, waux);
            }
            var signs0 = (byte)Iq3Encoding.SplitSigns(xb[..8], xval[..8]);
            var signs1 = (byte)Iq3Encoding.SplitSigns(xb[8..], xval[8..]);
            var max = Iq3Encoding.Max(xval);
            if (max < GroupMaxEps)
            {
                // Unlike IQ2_XS, ggml leaves L as it was here.
                scales[ib] = 0;
                continue;
            }
            var scale = Iq2Search.FindScale(lattice, Iq2Search.XsOrS, Vectorized, xval, weight, waux, max, levels);
            if (scale < 0)
            {
                scale = -scale;
                signs0 = (byte)~signs0;
                signs1 = (byte)~signs1;
            }
            for (var k = 0; k < 2; ++k)
            {
                var point = Iq2Search.PointOf(lattice, levels.Slice(8 * k, 8));
                var i8 = 2 * ib + k;
                block[QsOffset + i8] = (byte)point;
                block[QhOffset + i8 / 4] |= (byte)((point >> 8) << (2 * (i8 % 4)));
                block[SignsOffset + i8] = k == 0 ? signs0 : signs1;
            }
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        if (maxScale == 0)
        {
            return;
        }

        var d = maxScale / 31;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d * 0.9875f));
        var id = 1 / d;
        for (var ib = 0; ib < 16; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 15);
            block[ScalesOffset + ib / 2] |= (byte)(l << (4 * (ib % 2)));
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2S(block, y);
}
