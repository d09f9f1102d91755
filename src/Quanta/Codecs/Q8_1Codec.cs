using System.Buffers.Binary;
using System.Runtime.Intrinsics;
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
        if (Vector256.IsHardwareAccelerated)
        {
            // Each lane converts an int8 to float (exact) and multiplies once by d, as the scalar loop does.
            var dv = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
            var (low, high) = Vector256.Widen(Vector256.Create(block.Slice(4, 32)).AsSByte());
            var (q0, q1) = Vector256.Widen(low);
            var (q2, q3) = Vector256.Widen(high);
            (Vector256.ConvertToSingle(q0) * dv).CopyTo(y);
            (Vector256.ConvertToSingle(q1) * dv).CopyTo(y[8..]);
            (Vector256.ConvertToSingle(q2) * dv).CopyTo(y[16..]);
            (Vector256.ConvertToSingle(q3) * dv).CopyTo(y[24..]);
            return;
        }
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var qs = block.Slice(4, 32);
        for (var j = 0; j < 32; ++j)
        {
            y[j] = (sbyte)qs[j] * d;
        }
    }
}
