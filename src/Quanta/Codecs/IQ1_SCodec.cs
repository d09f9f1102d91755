using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ1_S: 1.5625 bits per weight; layout <c>block_iq1_s</c> (50 bytes): d fp16, qs[32] low index bytes, qh[8] u16 (3 high index bits per point into <c>iq1s_grid</c>, a 3-bit scale and the sign of the ±1/8 shift). Decodes as ggml's <c>dequantize_row_iq1_s</c>
/// does, bit for bit; encoding needs ggml's importance-matrix search, which Quanta does not have yet.
/// </summary>
public sealed class IQ1_SCodec() : DecodeOnlyCodec(GgmlType.IQ1_S, NeedsImportanceQuantizer(GgmlType.IQ1_S))
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq1S(block, y);
}
