using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_XXS: 2.0625 bits per weight; layout <c>block_iq2_xxs</c> (66 bytes): d fp16, then per 32 values a u32 of four 8-bit grid indices (<c>iq2xxs_grid</c>) and a u32 of four 7-bit sign fields and a 4-bit scale in bits 28..31. Decodes as ggml's <c>dequantize_row_iq2_xxs</c>
/// does, bit for bit; encoding needs ggml's importance-matrix search, which Quanta does not have yet.
/// </summary>
public sealed class IQ2_XXSCodec() : DecodeOnlyCodec(GgmlType.IQ2_XXS, NeedsImportanceQuantizer(GgmlType.IQ2_XXS))
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2Xxs(block, y);
}
