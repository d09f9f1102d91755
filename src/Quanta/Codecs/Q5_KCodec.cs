using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q5_K: Q4_K's scheme with 5-bit quants, 176 bytes per 256 values. Layout (<c>block_q5_K</c>): d, dmin (fp16),
/// scales[12], qh[32] (bit 2g of byte l = high bit of element 64g + l, bit 2g+1 = of element 64g + 32 + l),
/// qs[128] (low nibbles, paired like Q4_K). Follows ggml's <c>quantize_row_q5_K_ref</c>,
/// <c>quantize_row_q5_K_impl</c> and <c>dequantize_row_q5_K</c> bit for bit.
/// </summary>
public sealed class Q5_KCodec : SuperBlockCodec
{
    private const int Nmax = 31;

    public Q5_KCodec()
        : this(VectorizeByDefault)
    {
    }

    internal Q5_KCodec(bool vectorized)
        : base(GgmlType.Q5_K, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        KQuantAffine.EncodeReference(x, Nmax, -0.5f, 0.1f, 15, Vectorized, levels, block[..4], block.Slice(4, 12));
        Pack(levels, block.Slice(16, 32), block.Slice(48, 128));
    }

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        KQuantAffine.EncodeWeighted(x, importance, Nmax, clampScales: true, Vectorized, levels, block[..4], block.Slice(4, 12));
        Pack(levels, block.Slice(16, 32), block.Slice(48, 128));
    }

    private static void Pack(ReadOnlySpan<byte> levels, Span<byte> qh, Span<byte> ql)
    {
        qh.Clear();
        var m1 = 1;
        var m2 = 2;
        for (var g = 0; g < 4; ++g)
        {
            for (var j = 0; j < 32; ++j)
            {
                int l1 = levels[64 * g + j];
                if (l1 > 15)
                {
                    l1 -= 16;
                    qh[j] |= (byte)m1;
                }
                int l2 = levels[64 * g + j + 32];
                if (l2 > 15)
                {
                    l2 -= 16;
                    qh[j] |= (byte)m2;
                }
                ql[32 * g + j] = (byte)(l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var min = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[2..]));
        var scales = block.Slice(4, 12);
        var qh = block.Slice(16, 32);
        var qs = block.Slice(48, 128);
        for (var g = 0; g < 4; ++g)
        {
            KScales.UnpackScaleMin(2 * g, scales, out var sc, out var m);
            var d1 = d * sc;
            var m1 = min * m;
            KScales.UnpackScaleMin(2 * g + 1, scales, out sc, out m);
            var d2 = d * sc;
            var m2 = min * m;
            var ql = qs.Slice(32 * g, 32);
            var y1 = y.Slice(64 * g, 32);
            var y2 = y.Slice(64 * g + 32, 32);
            // Bit 2g (2g+1) of qh[l] is the fifth bit; shifted into place instead of branched on (same integer).
            var shift1 = 2 * g;
            var shift2 = 2 * g + 1;
            for (var l = 0; l < 32; ++l)
            {
                y1[l] = d1 * ((ql[l] & 0xF) | (((qh[l] >> shift1) & 1) << 4)) - m1;
            }
            for (var l = 0; l < 32; ++l)
            {
                y2[l] = d2 * ((ql[l] >> 4) | (((qh[l] >> shift2) & 1) << 4)) - m2;
            }
        }
    }
}
