using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_XXS: 2.0625 bits per weight; layout <c>block_iq2_xxs</c> (66 bytes): d fp16, then per 32 values a u32 of
/// four 8-bit grid indices (<c>iq2xxs_grid</c>) and a u32 of four 7-bit sign fields (the eighth sign makes the
/// count of minus signs even) and a 4-bit scale in bits 28..31. Encodes as ggml's
/// <c>quantize_row_iq2_xxs_impl</c>, which needs importance weights; decodes as <c>dequantize_row_iq2_xxs</c>.
/// </summary>
public sealed class IQ2_XXSCodec : SuperBlockCodec
{
    public IQ2_XXSCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ2_XXSCodec(bool vectorized)
        : base(GgmlType.IQ2_XXS, vectorized)
    {
    }

    public override bool RequiresImportance => true;

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) =>
        throw new InvalidOperationException("unreachable: SuperBlockCodec refuses to encode without importance weights first");

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Iq2Encoding.RejectNegative(importance);
        var lattice = Iq2Lattice.Xxs;
        Span<float> scales = stackalloc float[8];
        Span<float> weight = stackalloc float[32];
        Span<float> waux = stackalloc float[32];
        Span<float> xval = stackalloc float[32];
        Span<sbyte> levels = stackalloc sbyte[32];
        Span<byte> signs = stackalloc byte[4];
        Span<uint> q2 = stackalloc uint[16];
        q2.Clear();
        levels.Clear();

        var sigma2 = Iq2Encoding.SumSquares(x) / SuperBlockSize;
        float maxScale = 0;
        for (var ib = 0; ib < 8; ++ib)
        {
            var xb = x.Slice(32 * ib, 32);
            Iq2Encoding.ImportanceWeights(xb, importance.Slice(32 * ib, 32), sigma2, weight, waux);
            for (var k = 0; k < 4; ++k)
            {
                signs[k] = Iq2Encoding.EvenSigns(xb.Slice(8 * k, 8), weight.Slice(8 * k, 8), xval.Slice(8 * k, 8));
            }
            var max = Iq3Encoding.Max(xval);
            if (max < GgmlMath.GroupMaxEps)
            {
                scales[ib] = 0;
                levels.Clear();
                continue;
            }
            var scale = Iq2Search.FindScale(lattice, Iq2Search.Xxs, Vectorized, xval, weight, waux, max, levels);
            if (scale < 0)
            {
                // ggml: "should never happen"; the scale is stored unsigned, so the signs flip instead.
                scale = -scale;
                for (var k = 0; k < 4; ++k)
                {
                    signs[k] = (byte)(~signs[k] & 127);
                }
            }
            for (var k = 0; k < 4; ++k)
            {
                var point = Iq2Search.PointOf(lattice, levels.Slice(8 * k, 8));
                q2[2 * ib] |= (uint)point << (8 * k);
                q2[2 * ib + 1] |= (uint)signs[k] << (7 * k);
            }
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        block.Clear();
        if (maxScale == 0)
        {
            return;
        }

        var d = maxScale / 31;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var id = 1 / d;
        for (var ib = 0; ib < 8; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 15);
            q2[2 * ib + 1] |= (uint)l << 28;
        }
        for (var i = 0; i < 16; ++i)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block[(2 + 4 * i)..], q2[i]);
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2Xxs(block, y);
}
