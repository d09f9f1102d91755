using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_0: blocks of 32 as an fp16 scale and 16 bytes of 4-bit quants (value j in the low nibble of byte j,
/// value j+16 in the high nibble), <c>x ≈ (q − 8)·d</c>. Without importance weights ggml's
/// <c>quantize_row_q4_0_ref</c>; with them <c>quantize_row_q4_0_impl</c>'s weighted search.
/// </summary>
internal sealed class Q4_0Codec() : RowCodec(GgmlType.Q4_0)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 18;

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        if (importance.IsEmpty)
        {
            EncodeBlocksScalar(row, destination);
        }
        else
        {
            EncodeRowWeighted(row, importance, destination);
        }
    }

    /// <summary>The specification: <c>quantize_row_q4_0_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        // The signed value of largest magnitude, first one on ties: its sign decides the sign of d.
        float amax = 0, max = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            if (amax < MathF.Abs(x[j]))
            {
                amax = MathF.Abs(x[j]);
                max = x[j];
            }
        }
        var d = max / -8;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < BlockElements / 2; j++)
        {
            // Multiply, then add 8.5 and truncate: two roundings, exactly as ggml (not a single round()).
            var x0 = x[j] * id;
            var x1 = x[j + 16] * id;
            var q0 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x0 + 8.5f));
            var q1 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x1 + 8.5f));
            block[2 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    static void EncodeRowWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<float> weight = stackalloc float[BlockElements];
        Span<sbyte> levels = stackalloc sbyte[BlockElements];
        var sigma2 = LegacyWeights.RowSigma2(x);
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            LegacyWeights.Fill(xb, importance.Slice(b, BlockElements), sigma2, weight);
            var d = ScaleSearch.MakeQx(8, xb, levels, 1, weight);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            for (var j = 0; j < 16; j++)
            {
                block[2 + j] = (byte)((byte)levels[j] | ((byte)levels[j + 16] << 4));
            }
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                output[j] = ((qs[j] & 0x0F) - 8) * d;
                output[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }
}
