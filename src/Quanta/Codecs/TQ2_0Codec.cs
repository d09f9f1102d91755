using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// TQ2_0 (ternary, 2 bits per trit): 256 values as qs[64] then an fp16 scale (amax). Byte 32c+m holds, from the
/// low bits up, the trits of values 128c + m, +32, +64 and +96. ggml's <c>quantize_row_tq2_0_ref</c>;
/// ggml ignores importance weights for this type.
/// </summary>
internal sealed class TQ2_0Codec() : UnweightedCodec<TQ2_0Codec>(GgmlType.TQ2_0), IUnweightedBlockLoops
{
    internal const int BlockElements = Ternary.BlockElements;
    internal const int BlockBytes = 66;
    const int ScaleOffset = 64;

    /// <summary>The specification: <c>quantize_row_tq2_0_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> xb, Span<byte> block)
    {
        var d = Ternary.AbsMax(xb);
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block[ScaleOffset..], Fp16.FromFloat(d));
        for (var c = 0; c < 2; c++)
        {
            for (var m = 0; m < 32; m++)
            {
                var q = 0;
                for (var n = 0; n < 4; n++)
                {
                    q += (Ternary.Trit(xb[128 * c + 32 * n + m] * id) & 3) << (2 * n);
                }
                block[32 * c + m] = (byte)q;
            }
        }
    }

    /// <summary>Eight bytes per step: value offsets 0, 32, 64, 96 are four contiguous loads.</summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var d = Ternary.AbsMax256(xb);
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            var idv = Vector256.Create(id);
            BinaryPrimitives.WriteUInt16LittleEndian(block[ScaleOffset..], Fp16.FromFloat(d));
            for (var c = 0; c < 2; c++)
            {
                var chunk = xb.Slice(128 * c, 128);
                var q0 = Pack(chunk, 0, idv);
                var q1 = Pack(chunk, 8, idv);
                var q2 = Pack(chunk, 16, idv);
                var q3 = Pack(chunk, 24, idv);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).AsByte().CopyTo(block[(32 * c)..]);
            }
        }
    }

    static Vector256<int> Pack(ReadOnlySpan<float> chunk, int m, Vector256<float> id) =>
        Ternary.Trits(chunk[m..], id)
        | Vector256.ShiftLeft(Ternary.Trits(chunk[(32 + m)..], id), 2)
        | Vector256.ShiftLeft(Ternary.Trits(chunk[(64 + m)..], id), 4)
        | Vector256.ShiftLeft(Ternary.Trits(chunk[(96 + m)..], id), 6);

    /// <summary>The specification: <c>dequantize_row_tq2_0</c>, <c>(float)(q − 1)·d</c>.</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[(o + ScaleOffset)..]));
            var output = destination.Slice(y, BlockElements);
            var i = 0;
            for (var c = 0; c < 2; c++)
            {
                for (var l = 0; l < 4; l++)
                {
                    for (var m = 0; m < 32; m++)
                    {
                        output[i++] = (((source[o + 32 * c + m] >> (2 * l)) & 3) - 1) * d;
                    }
                }
            }
        }
    }

    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var three = Vector256.Create(3);
        var one = Vector256.Create(1);
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Vector256.Create(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[(o + ScaleOffset)..])));
            var output = destination.Slice(y, BlockElements);
            for (var c = 0; c < 2; c++)
            {
                for (var m = 0; m < 32; m += 8)
                {
                    // Eight bytes widened to int lanes; each shift yields the trits of one value offset.
                    var bytes = Vector256.WidenLower(Vector256.WidenLower(Vector128.CreateScalar(
                        BinaryPrimitives.ReadUInt64LittleEndian(source[(o + 32 * c + m)..])).AsByte().ToVector256Unsafe()));
                    var q = bytes.AsInt32();
                    for (var l = 0; l < 4; l++)
                    {
                        var level = (Vector256.ShiftRightLogical(q, 2 * l) & three) - one;
                        (Vector256.ConvertToSingle(level) * d).CopyTo(output[(128 * c + 32 * l + m)..]);
                    }
                }
            }
        }
    }
}
