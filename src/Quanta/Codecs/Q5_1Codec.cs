using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q5_1: blocks of 32 as fp16 scale d, fp16 minimum m, a 32-bit word of fifth bits and 16 bytes of low
/// nibbles, <c>x ≈ q·d + m</c>. Without importance weights <c>quantize_row_q5_1_ref</c>; with them
/// <c>quantize_row_q5_1_impl</c>.
/// </summary>
internal sealed class Q5_1Codec() : RowCodec(GgmlType.Q5_1)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 24;

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

    /// <summary>The specification: <c>quantize_row_q5_1_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        var min = float.MaxValue;
        var max = -float.MaxValue;
        for (var j = 0; j < BlockElements; j++)
        {
            if (x[j] < min)
            {
                min = x[j];
            }
            if (x[j] > max)
            {
                max = x[j];
            }
        }
        var d = (max - min) / 31;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
        uint qh = 0;
        for (var j = 0; j < BlockElements / 2; j++)
        {
            var x0 = (x[j] - min) * id;
            var x1 = (x[j + 16] - min) * id;
            // No clamp here in ggml: (uint8_t) of the truncated value.
            var q0 = (byte)GgmlMath.TruncateToInt32(x0 + 0.5f);
            var q1 = (byte)GgmlMath.TruncateToInt32(x1 + 0.5f);
            block[8 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], qh);
    }

    static void EncodeRowWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<float> weight = stackalloc float[BlockElements];
        Span<byte> levels = stackalloc byte[BlockElements];
        Span<byte> scratch = stackalloc byte[BlockElements];
        var sigma2 = LegacyWeights.RowSigma2(x);
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            LegacyWeights.Fill(xb, importance.Slice(b, BlockElements), sigma2, weight);
            var d = ScaleSearch.MakeQkx3(31, xb, weight, levels, out var negatedMin, scratch, -0.9f, 0.05f, 36, false);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(-negatedMin));
            uint qh = 0;
            for (var j = 0; j < 16; j++)
            {
                var q0 = levels[j];
                var q1 = levels[j + 16];
                block[8 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(block[4..], qh);
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var m = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[(o + 2)..]));
            var qh = BinaryPrimitives.ReadUInt32LittleEndian(source[(o + 4)..]);
            var qs = source.Slice(o + 8, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                var high0 = (int)((qh >> j) << 4) & 0x10;
                var high1 = (int)(qh >> (j + 12)) & 0x10;
                output[j] = ((qs[j] & 0x0F) | high0) * d + m;
                output[j + 16] = ((qs[j] >> 4) | high1) * d + m;
            }
        }
    }
}
