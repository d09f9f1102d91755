using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>BF16: the top half of each float, rounded to nearest even (<c>ggml_fp32_to_bf16_row_ref</c>).</summary>
internal sealed class BF16Codec() : RowCodec(GgmlType.BF16)
{
    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        BFloat16.FromFloat(row, MemoryMarshal.Cast<byte, ushort>(destination));

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination) =>
        BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(source), destination);
}
