using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q8_1: blocks of 32 as fp16 d, fp16 s (= d·Σq, used by ggml's dot products) and 32 signed bytes (36 bytes).
/// ggml uses it only for activations inside matrix products and has no <c>to_float</c> for it; Quanta decodes it
/// as Q8_0 (<c>y = q·d</c>, <c>s</c> ignored) and does not write it.
/// </summary>
public sealed class Q8_1Codec() : DecodeOnlyCodec(GgmlType.Q8_1,
    "q8_1 is an activation format inside ggml's matrix products; llama-quantize never writes it and neither does Quanta")
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var qs = block.Slice(4, 32);
        for (var j = 0; j < 32; ++j)
        {
            y[j] = (sbyte)qs[j] * d;
        }
    }
}
