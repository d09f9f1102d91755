using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_0: blocks of 32 as an fp16 scale and 16 bytes of 4-bit quants (value j in the low nibble of byte j,
/// value j+16 in the high nibble), <c>x ≈ (q − 8)·d</c>. Without importance weights ggml's
/// <c>quantize_row_q4_0_ref</c>; with them <c>quantize_row_q4_0_impl</c>'s weighted search.
/// </summary>
internal sealed class Q4_0Codec() : RowCodec(GgmlType.Q4_0)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 18;

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        if (importance.IsEmpty)
        {
            EncodeBlocks(row, destination);
        }
        else
        {
            EncodeRowWeighted(row, importance, destination);
        }
    }

    /// <summary>The reference quantizer on the widest accelerated vectors; the same bytes as <see cref="EncodeBlocksScalar"/>.</summary>
    internal static void EncodeBlocks(ReadOnlySpan<float> x, Span<byte> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            EncodeBlocks256(x, destination);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            EncodeBlocks128(x, destination);
        }
        else
        {
            EncodeBlocksScalar(x, destination);
        }
    }
    internal static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var d = LegacySimd.SignedAbsMax256(xb) / -8;
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            var (v0, v1, v2, v3) = LegacySimd.Load256(xb);
            var q0 = Quantize(v0, id);
            var q1 = Quantize(v1, id);
            var q2 = Quantize(v2, id);
            var q3 = Quantize(v3, id);
            _ = LegacySimd.PackNibbles(q0, q1, q2, q3, block[2..]);
        }
    }

    internal static void EncodeBlocks128(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector128<int>> q = stackalloc Vector128<int>[8];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var d = LegacySimd.SignedAbsMax128(xb) / -8;
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            for (var k = 0; k < 8; k++)
            {
                q[k] = Quantize(Vector128.Create(xb[(4 * k)..]), id);
            }
            _ = LegacySimd.PackNibbles(q, block[2..]);
        }
    }

    // Multiply, add, truncate, clamp: the scalar steps lane by lane. A finite 1/d keeps every lane in int range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Quantize(Vector256<float> v, float id)
    {
        var scaled = v * id;
        return Vector256.Min(Vector256.ConvertToInt32Native(scaled + Vector256.Create(8.5f)), Vector256.Create(15));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<int> Quantize(Vector128<float> v, float id)
    {
        var scaled = v * id;
        return Vector128.Min(Vector128.ConvertToInt32Native(scaled + Vector128.Create(8.5f)), Vector128.Create(15));
    }

    /// <summary>The specification: <c>quantize_row_q4_0_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        // The signed value of largest magnitude, first one on ties: its sign decides the sign of d.
        float amax = 0, max = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            if (amax < MathF.Abs(x[j]))
            {
                amax = MathF.Abs(x[j]);
                max = x[j];
            }
        }
        var d = max / -8;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < BlockElements / 2; j++)
        {
            // Multiply, then add 8.5 and truncate: two roundings, exactly as ggml (not a single round()).
            var x0 = x[j] * id;
            var x1 = x[j + 16] * id;
            var q0 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x0 + 8.5f));
            var q1 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x1 + 8.5f));
            block[2 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    static void EncodeRowWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<float> weight = stackalloc float[BlockElements];
        Span<sbyte> levels = stackalloc sbyte[BlockElements];
        var sigma2 = LegacyWeights.RowSigma2(x);
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            LegacyWeights.Fill(xb, importance.Slice(b, BlockElements), sigma2, weight);
            var d = SymmetricSearch.MakeQx(xb, 8, levels, weight);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            for (var j = 0; j < 16; j++)
            {
                block[2 + j] = (byte)((byte)levels[j] | ((byte)levels[j + 16] << 4));
            }
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            DecodeBlocks256(source, destination);
        }
        else
        {
            DecodeBlocksScalar(source, destination);
        }
    }

    /// <summary>The specification: <c>dequantize_row_q4_0</c>.</summary>
    internal static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                output[j] = ((qs[j] & 0x0F) - 8) * d;
                output[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>Each lane converts its small integer to float (exact) and multiplies once by d, as the scalar loop does.</summary>
    internal static void DecodeBlocks256(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var eight = Vector256.Create(8);
        var nibble = Vector256.Create(0x0F);
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var (bytes, _) = Vector256.Widen(Vector256.Create(Vector128.Create(source.Slice(o + 2, 16)), Vector128<byte>.Zero));
            var (first, second) = Vector256.Widen(bytes);
            var q0 = first.AsInt32();
            var q1 = second.AsInt32();
            var output = destination.Slice(y, BlockElements);
            (Vector256.ConvertToSingle((q0 & nibble) - eight) * d).CopyTo(output);
            (Vector256.ConvertToSingle((q1 & nibble) - eight) * d).CopyTo(output[8..]);
            (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(q0, 4) - eight) * d).CopyTo(output[16..]);
            (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(q1, 4) - eight) * d).CopyTo(output[24..]);
        }
    }
}
