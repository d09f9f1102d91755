using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q8_K: blocks of 256 as a float32 d, 256 signed bytes and 16 int16 sums of 16 quants each (292 bytes), ggml's
/// intermediate format for K-quant dot products. Decoded as ggml's <c>dequantize_row_q8_K</c>: <c>y = d·q</c>
/// (the sums are not read); never written by llama-quantize, so not by Quanta either.
/// </summary>
public sealed class Q8_KCodec() : DecodeOnlyCodec(GgmlType.Q8_K,
    "q8_K is an intermediate format of ggml's K-quant dot products; llama-quantize never writes it and neither does Quanta")
{
    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            DecodeVector(block, y);
        }
        else
        {
            DecodeScalar(block, y);
        }
    }

    internal static void DecodeScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = BinaryPrimitives.ReadSingleLittleEndian(block);
        var qs = block.Slice(4, 256);
        for (var j = 0; j < 256; ++j)
        {
            y[j] = d * (sbyte)qs[j];
        }
    }

    internal static void DecodeVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Vector256.Create(BinaryPrimitives.ReadSingleLittleEndian(block));
        ref var output = ref MemoryMarshal.GetReference(y[..256]);
        for (var j = 0; j < 256; j += 32)
        {
            var (low, high) = Vector256.Widen(Vector256.Create(block.Slice(4 + j, 32)).AsSByte());
            var (q0, q1) = Vector256.Widen(low);
            var (q2, q3) = Vector256.Widen(high);
            (d * Vector256.ConvertToSingle(q0)).StoreUnsafe(ref output, (nuint)j);
            (d * Vector256.ConvertToSingle(q1)).StoreUnsafe(ref output, (nuint)(j + 8));
            (d * Vector256.ConvertToSingle(q2)).StoreUnsafe(ref output, (nuint)(j + 16));
            (d * Vector256.ConvertToSingle(q3)).StoreUnsafe(ref output, (nuint)(j + 24));
        }
    }
}
