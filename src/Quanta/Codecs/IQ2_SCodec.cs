using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ2_S: 2.5625 bits per weight; layout <c>block_iq2_s</c> (82 bytes): d fp16, qs[32] low index bytes, signs[32], qh[8] (2 high index bits per point into <c>iq2s_grid</c>), scales[8]. Decodes as ggml's <c>dequantize_row_iq2_s</c>
/// does, bit for bit; encoding needs ggml's importance-matrix search, which Quanta does not have yet.
/// </summary>
public sealed class IQ2_SCodec() : DecodeOnlyCodec(GgmlType.IQ2_S, NeedsImportanceQuantizer(GgmlType.IQ2_S))
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq2S(block, y);
}
