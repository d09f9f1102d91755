using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q5_0: blocks of 32 as an fp16 scale, a 32-bit word of fifth bits (bit j for value j) and 16 bytes of low
/// nibbles, <c>x ≈ (q − 16)·d</c>. Without importance weights <c>quantize_row_q5_0_ref</c>; with them
/// <c>quantize_row_q5_0_impl</c>.
/// </summary>
internal sealed class Q5_0Codec() : RowCodec(GgmlType.Q5_0)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 22;

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
            var d = LegacySimd.SignedAbsMax256(xb) / -16;
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
            var qh = LegacySimd.PackNibbles(q0, q1, q2, q3, block[6..]);
            BinaryPrimitives.WriteUInt32LittleEndian(block[2..], qh);
        }
    }

    internal static void EncodeBlocks128(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector128<int>> q = stackalloc Vector128<int>[8];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var d = LegacySimd.SignedAbsMax128(xb) / -16;
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
            var qh = LegacySimd.PackNibbles(q, block[6..]);
            BinaryPrimitives.WriteUInt32LittleEndian(block[2..], qh);
        }
    }

    // Multiply, add, truncate, clamp: the scalar steps lane by lane. A finite 1/d keeps every lane in int range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Quantize(Vector256<float> v, float id)
    {
        var scaled = v * id;
        return Vector256.Min(Vector256.ConvertToInt32Native(scaled + Vector256.Create(16.5f)), Vector256.Create(31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<int> Quantize(Vector128<float> v, float id)
    {
        var scaled = v * id;
        return Vector128.Min(Vector128.ConvertToInt32Native(scaled + Vector128.Create(16.5f)), Vector128.Create(31));
    }

    /// <summary>The specification: <c>quantize_row_q5_0_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0, max = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            if (amax < MathF.Abs(x[j]))
            {
                amax = MathF.Abs(x[j]);
                max = x[j];
            }
        }
        var d = max / -16;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        uint qh = 0;
        for (var j = 0; j < BlockElements / 2; j++)
        {
            var x0 = x[j] * id;
            var x1 = x[j + 16] * id;
            var q0 = (byte)Math.Min(31, GgmlMath.TruncateToInt8(x0 + 16.5f));
            var q1 = (byte)Math.Min(31, GgmlMath.TruncateToInt8(x1 + 16.5f));
            block[6 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(block[2..], qh);
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
            var d = SymmetricSearch.MakeQx(xb, 16, levels, weight);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            uint qh = 0;
            for (var j = 0; j < 16; j++)
            {
                var q0 = (byte)levels[j];
                var q1 = (byte)levels[j + 16];
                block[6 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(block[2..], qh);
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qh = BinaryPrimitives.ReadUInt32LittleEndian(source[(o + 2)..]);
            var qs = source.Slice(o + 6, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                var high0 = (int)((qh >> j) << 4) & 0x10;
                var high1 = (int)(qh >> (j + 12)) & 0x10;
                output[j] = (((qs[j] & 0x0F) | high0) - 16) * d;
                output[j + 16] = (((qs[j] >> 4) | high1) - 16) * d;
            }
        }
    }
}
