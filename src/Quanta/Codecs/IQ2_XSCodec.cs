using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_XS: 2.3125 bits per weight; layout <c>block_iq2_xs</c> (74 bytes): d fp16, qs[32] u16 (9-bit index into
/// <c>iq2xs_grid</c>, 7 sign bits; the eighth makes the count of minus signs even), scales[8] (two 4-bit scales
/// per 32 values, one per 16). Encodes as ggml's <c>quantize_row_iq2_xs_impl</c>, which needs importance
/// weights; decodes as <c>dequantize_row_iq2_xs</c>.
/// </summary>
public sealed class IQ2_XSCodec : SuperBlockCodec
{
    private const int ScalesOffset = 2 + 64;

    public IQ2_XSCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ2_XSCodec(bool vectorized)
        : base(GgmlType.IQ2_XS, vectorized)
    {
    }

    public override bool RequiresImportance => true;

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) =>
        throw new InvalidOperationException("unreachable: SuperBlockCodec refuses to encode without importance weights first");

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Iq2Encoding.RejectNegative(importance);
        var lattice = Iq2Lattice.Xs;
        Span<float> scales = stackalloc float[16];
        Span<float> weight = stackalloc float[16];
        Span<float> waux = stackalloc float[16];
        Span<float> xval = stackalloc float[16];
        Span<sbyte> levels = stackalloc sbyte[16];
        Span<byte> signs = stackalloc byte[2];
        Span<ushort> q2 = stackalloc ushort[32];
        q2.Clear();
        levels.Clear();

        var sigma2 = Iq2Encoding.SumSquares(x) / SuperBlockSize;
        float maxScale = 0;
        for (var ib = 0; ib < 16; ++ib)
        {
            var xb = x.Slice(16 * ib, 16);
            Iq2Encoding.ImportanceWeights(xb, importance.Slice(16 * ib, 16), sigma2, weight, waux);
            for (var k = 0; k < 2; ++k)
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
            var scale = Iq2Search.FindScale(lattice, Iq2Search.XsOrS, Vectorized, xval, weight, waux, max, levels);
            if (scale < 0)
            {
                scale = -scale;
                for (var k = 0; k < 2; ++k)
                {
                    signs[k] = (byte)(~signs[k] & 127);
                }
            }
            for (var k = 0; k < 2; ++k)
            {
                var point = Iq2Search.PointOf(lattice, levels.Slice(8 * k, 8));
                q2[2 * ib + k] = (ushort)(point | (signs[k] << 9));
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
        for (var ib = 0; ib < 16; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 15);
            block[ScalesOffset + ib / 2] |= (byte)(l << (4 * (ib % 2)));
        }
        for (var i = 0; i < 32; ++i)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block[(2 + 2 * i)..], q2[i]);
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2Xs(block, y);
}
