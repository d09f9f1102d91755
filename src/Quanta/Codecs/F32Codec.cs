using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>F32: the values themselves, little-endian (ggml copies the row).</summary>
internal sealed class F32Codec() : RowCodec(GgmlType.F32)
{
    // Quanta, like GGUF, assumes a little-endian host, so a byte copy is the file layout.
    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        MemoryMarshal.AsBytes(row).CopyTo(destination);

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination) =>
        MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
}
