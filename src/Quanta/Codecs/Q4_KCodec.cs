using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_K: 4-bit affine quants (value = d·scale·q − dmin·min) in eight 32-element sub-blocks, 6-bit scales and
/// mins under two fp16 super-scales, 144 bytes per 256 values. Layout (<c>block_q4_K</c>): d, dmin (fp16),
/// scales[12] (see <see cref="KScales"/>), qs[128] (byte l of each 32-byte group holds element l in the low
/// nibble and l + 32 in the high one). Follows ggml's <c>quantize_row_q4_K_ref</c>, <c>quantize_row_q4_K_impl</c>
/// and <c>dequantize_row_q4_K</c> bit for bit.
/// </summary>
public sealed class Q4_KCodec : SuperBlockCodec
{
    private const int Nmax = 15;

    public Q4_KCodec()
        : this(VectorizeByDefault)
    {
    }

    internal Q4_KCodec(bool vectorized)
        : base(GgmlType.Q4_K, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        KQuantAffine.EncodeReference(x, Nmax, -1f, 0.1f, 20, Vectorized, levels, block[..4], block.Slice(4, 12));
        PackNibbles(levels, block.Slice(16, 128));
    }

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        KQuantAffine.EncodeWeighted(x, importance, Nmax, clampScales: false, Vectorized, levels, block[..4], block.Slice(4, 12));
        PackNibbles(levels, block.Slice(16, 128));
    }

    private static void PackNibbles(ReadOnlySpan<byte> levels, Span<byte> qs)
    {
        for (var g = 0; g < 4; ++g)
        {
            for (var l = 0; l < 32; ++l)
            {
                qs[32 * g + l] = (byte)(levels[64 * g + l] | (levels[64 * g + l + 32] << 4));
            }
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var min = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[2..]));
        var scales = block.Slice(4, 12);
        var qs = block.Slice(16, 128);
        for (var g = 0; g < 4; ++g)
        {
            KScales.UnpackScaleMin(2 * g, scales, out var sc, out var m);
            var d1 = d * sc;
            var m1 = min * m;
            KScales.UnpackScaleMin(2 * g + 1, scales, out sc, out m);
            var d2 = d * sc;
            var m2 = min * m;
            var q = qs.Slice(32 * g, 32);
            var y1 = y.Slice(64 * g, 32);
            var y2 = y.Slice(64 * g + 32, 32);
            for (var l = 0; l < 32; ++l)
            {
                y1[l] = d1 * (q[l] & 0xF) - m1;
            }
            for (var l = 0; l < 32; ++l)
            {
                y2[l] = d2 * (q[l] >> 4) - m2;
            }
        }
    }
}
