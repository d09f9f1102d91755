using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q8_0: blocks of 32 as an fp16 scale <c>d = amax/127</c> and 32 signed bytes <c>roundf(x/d)</c>
/// (<c>quantize_row_q8_0_ref</c>; ggml ignores importance weights for this type).
/// </summary>
internal sealed class Q8_0Codec() : RowCodec(GgmlType.Q8_0)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 34;

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        EncodeBlocksScalar(row, destination);

    /// <summary>The specification: <c>quantize_row_q8_0_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            amax = MathF.Max(amax, MathF.Abs(x[j]));
        }
        var d = amax / 127;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < BlockElements; j++)
        {
            // roundf: half away from zero; the int8_t store keeps the low byte of C's conversion.
            block[2 + j] = (byte)GgmlMath.TruncateToInt32(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, BlockElements);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < BlockElements; j++)
            {
                output[j] = (sbyte)qs[j] * d;
            }
        }
    }
}
