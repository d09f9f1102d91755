using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_XS: 2.3125 bits per weight; layout <c>block_iq2_xs</c> (74 bytes): d fp16, qs[32] u16 (9-bit index into <c>iq2xs_grid</c>, 7 sign bits), scales[8] (two 4-bit scales per 32 values). Decodes as ggml's <c>dequantize_row_iq2_xs</c>
/// does, bit for bit; encoding needs ggml's importance-matrix search, which Quanta does not have yet.
/// </summary>
public sealed class IQ2_XSCodec() : DecodeOnlyCodec(GgmlType.IQ2_XS, NeedsImportanceQuantizer(GgmlType.IQ2_XS))
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2Xs(block, y);
}
