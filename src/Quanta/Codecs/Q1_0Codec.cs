using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q1_0: blocks of 128 as an fp16 scale (the mean |x|) and 16 bytes of sign bits (bit j%8 of byte j/8 set when
/// value j ≥ 0), decoded as ±d. ggml's <c>quantize_row_q1_0_ref</c>; <c>quantize_q1_0</c> calls it row by row
/// when importance weights are given and never reads them, so neither does this codec.
/// </summary>
internal sealed class Q1_0Codec() : UnweightedCodec<Q1_0Codec>(GgmlType.Q1_0), IUnweightedBlockLoops
{
    internal const int BlockElements = 128;
    internal const int BlockBytes = 18;

    /// <summary>Mean magnitude, summed strictly in order: it is a float sum, so the order decides the bits.</summary>
    static float MeanMagnitude(ReadOnlySpan<float> xb)
    {
        var sum = 0f;
        foreach (var v in xb)
        {
            sum += MathF.Abs(v);
        }
        return sum / BlockElements;
    }

    /// <summary>The specification: <c>quantize_row_q1_0_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(MeanMagnitude(xb)));
            var qs = block[2..];
            qs.Clear();
            for (var j = 0; j < BlockElements; j++)
            {
                // x ≥ 0 is true for −0 as well, as in C.
                if (xb[j] >= 0f)
                {
                    qs[j / 8] |= (byte)(1 << (j % 8));
                }
            }
        }
    }

    /// <summary>The sum stays sequential; the sign bits come eight at a time from a vector compare.</summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(MeanMagnitude(xb)));
            for (var k = 0; k < BlockElements / 8; k++)
            {
                var nonNegative = Vector256.GreaterThanOrEqual(Vector256.Create(xb[(8 * k)..]), Vector256<float>.Zero);
                block[2 + k] = (byte)nonNegative.ExtractMostSignificantBits();
            }
        }
    }

    /// <summary>The specification: <c>dequantize_row_q1_0</c>, d or −d (a sign flip, not a multiply).</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var negD = -d;
            var qs = source.Slice(o + 2, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < BlockElements; j++)
            {
                output[j] = ((qs[j / 8] >> (j % 8)) & 1) != 0 ? d : negD;
            }
        }
    }

    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var bit = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var positive = Vector256.Create(d);
            var negative = Vector256.Create(-d);
            var output = destination.Slice(y, BlockElements);
            for (var k = 0; k < 16; k++)
            {
                var set = Vector256.Equals(Vector256.Create((int)source[o + 2 + k]) & bit, bit);
                Vector256.ConditionalSelect(set.AsSingle(), positive, negative).CopyTo(output[(8 * k)..]);
            }
        }
    }
}
