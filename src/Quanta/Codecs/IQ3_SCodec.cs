using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ3_S: 3.4375 bits per weight. Each group of 4 values is one of 512 grid points (8 bits plus a ninth in qh),
/// every value has its own sign bit, each 32 values a 4-bit scale under one fp16 super-scale. Layout
/// (<c>block_iq3_s</c>, 110 bytes): d fp16, qs[64], qh[8], signs[32], scales[4]. Follows ggml's
/// <c>quantize_row_iq3_s_impl</c> (with or without importance weights) and <c>dequantize_row_iq3_s</c>.
/// </summary>
public sealed class IQ3_SCodec : IQ3Codec
{
    private const int QsOffset = 2;
    private const int QhOffset = 66;
    private const int SignsOffset = 74;
    private const int ScalesOffset = 106;

    public IQ3_SCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ3_SCodec(bool vectorized)
        : base(GgmlType.IQ3_S, vectorized)
    {
    }

    private protected override void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        var lattice = Iq3Lattice.S;
        Span<float> scales = stackalloc float[8];
        Span<float> weight = stackalloc float[32];
        Span<float> waux = stackalloc float[32];
        Span<float> xval = stackalloc float[32];
        Span<sbyte> levels = stackalloc sbyte[32];
        Span<byte> signs = stackalloc byte[4];
        block.Clear();
        var qh = block.Slice(QhOffset, 8);

        // ggml advances its qs and signs pointers only past groups it stores: after an all-zero group, the next
        // group's indices and signs land where the zero group's would have gone.
        var qs = QsOffset;
        var signsAt = SignsOffset;

        var sigma2 = Iq3Encoding.Sigma2(x);
        float maxScale = 0;
        for (var ib = 0; ib < 8; ++ib)
        {
            var xb = x.Slice(32 * ib, 32);
            Iq3Encoding.Weights(xb, importance.IsEmpty ? default : importance.Slice(32 * ib, 32), sigma2, weight, waux);
            for (var k = 0; k < 4; ++k)
            {
                signs[k] = (byte)Iq3Encoding.SplitSigns(xb.Slice(8 * k, 8), xval.Slice(8 * k, 8));
            }
            var max = Iq3Encoding.Max(xval);
            levels.Clear();
            if (max == 0)
            {
                scales[ib] = 0;
                continue;
            }
            var scale = Iq3Encoding.FindScale(lattice, Iq3Search.S, Vectorized, xval, weight, waux, max, levels);
            if (scale < 0)
            {
                scale = -scale;
                for (var k = 0; k < 4; ++k)
                {
                    signs[k] = (byte)~signs[k];
                }
            }
            for (var k = 0; k < 8; ++k)
            {
                var point = Iq3Search.PointOf(lattice, levels.Slice(4 * k, 4));
                block[qs + k] = (byte)point;
                qh[ib] |= (byte)((point >> 8) << k);
            }
            qs += 8;
            signs.CopyTo(block[signsAt..]);
            signsAt += 4;
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        if (maxScale == 0)
        {
            return;
        }

        var d = maxScale / 31;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d * 1.033f));
        var id = 1 / d;
        for (var ib = 0; ib < 8; ib += 2)
        {
            var l1 = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 15);
            var l2 = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib + 1] - 1)), 0, 15);
            block[ScalesOffset + ib / 2] = (byte)(l1 | (l2 << 4));
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq3S(block, y);
}
