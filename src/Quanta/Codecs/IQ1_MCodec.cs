using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ1_M: 1.75 bits per weight; layout <c>block_iq1_m</c> (56 bytes): qs[32], qh[16] (high index bits and shift signs per point), scales[8] (3-bit scales; the fp16 super-scale is spread over their top nibbles). Decodes as ggml's <c>dequantize_row_iq1_m</c>
/// does, bit for bit; encoding needs ggml's importance-matrix search, which Quanta does not have yet.
/// </summary>
public sealed class IQ1_MCodec() : DecodeOnlyCodec(GgmlType.IQ1_M, NeedsImportanceQuantizer(GgmlType.IQ1_M))
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq1M(block, y);
}
