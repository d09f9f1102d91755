using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>F16: IEEE half precision with ggml's rounding (<c>ggml_fp32_to_fp16_row</c>).</summary>
internal sealed class F16Codec() : RowCodec(GgmlType.F16)
{
    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        Fp16.FromFloat(row, MemoryMarshal.Cast<byte, ushort>(destination));

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination) =>
        Fp16.ToFloat(MemoryMarshal.Cast<byte, ushort>(source), destination);
}
