using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_1: blocks of 32 as fp16 scale d, fp16 minimum m and 16 bytes of 4-bit quants, <c>x ≈ q·d + m</c>.
/// Without importance weights <c>quantize_row_q4_1_ref</c> (min/max); with them <c>quantize_row_q4_1_impl</c>
/// (<c>make_qkx3_quants</c>).
/// </summary>
internal sealed class Q4_1Codec() : RowCodec(GgmlType.Q4_1)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 20;

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
            var (v0, v1, v2, v3) = LegacySimd.Load256(xb);
            var min = LegacySimd.MinAcross(Vector256.MinNative(Vector256.MinNative(v0, v1), Vector256.MinNative(v2, v3)));
            var max = LegacySimd.MaxAcross(Vector256.MaxNative(Vector256.MaxNative(v0, v1), Vector256.MaxNative(v2, v3)));
            var d = (max - min) / 15;
            var id = d != 0 ? 1f / d : 0f;
            // A zero extreme may be +0 or -0 depending on which came first, and its sign reaches the bytes.
            if (min == 0 || max == 0 || !float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
            var q0 = Quantize(v0, min, id);
            var q1 = Quantize(v1, min, id);
            var q2 = Quantize(v2, min, id);
            var q3 = Quantize(v3, min, id);
            _ = LegacySimd.PackNibbles(q0, q1, q2, q3, block[4..]);
        }
    }

    internal static void EncodeBlocks128(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector128<int>> q = stackalloc Vector128<int>[8];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var minVector = Vector128.Create(xb);
            var maxVector = minVector;
            for (var k = 4; k < BlockElements; k += 4)
            {
                var v = Vector128.Create(xb[k..]);
                minVector = Vector128.MinNative(minVector, v);
                maxVector = Vector128.MaxNative(maxVector, v);
            }
            var min = LegacySimd.MinAcross(minVector);
            var max = LegacySimd.MaxAcross(maxVector);
            var d = (max - min) / 15;
            var id = d != 0 ? 1f / d : 0f;
            if (min == 0 || max == 0 || !float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
            for (var k = 0; k < 8; k++)
            {
                q[k] = Quantize(Vector128.Create(xb[(4 * k)..]), min, id);
            }
            _ = LegacySimd.PackNibbles(q, block[4..]);
        }
    }

    // Subtract, multiply, add, truncate: the scalar steps lane by lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Quantize(Vector256<float> v, float min, float id)
    {
        var scaled = (v - Vector256.Create(min)) * id;
        return Vector256.Min(Vector256.ConvertToInt32Native(scaled + Vector256.Create(0.5f)), Vector256.Create(15));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<int> Quantize(Vector128<float> v, float min, float id)
    {
        var scaled = (v - Vector128.Create(min)) * id;
        return Vector128.Min(Vector128.ConvertToInt32Native(scaled + Vector128.Create(0.5f)), Vector128.Create(15));
    }

    /// <summary>The specification: <c>quantize_row_q4_1_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        var min = float.MaxValue;
        var max = -float.MaxValue;
        for (var j = 0; j < BlockElements; j++)
        {
            if (x[j] < min)
            {
                min = x[j];
            }
            if (x[j] > max)
            {
                max = x[j];
            }
        }
        var d = (max - min) / 15;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
        for (var j = 0; j < BlockElements / 2; j++)
        {
            var x0 = (x[j] - min) * id;
            var x1 = (x[j + 16] - min) * id;
            var q0 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x0 + 0.5f));
            var q1 = (byte)Math.Min(15, GgmlMath.TruncateToInt8(x1 + 0.5f));
            block[4 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    static void EncodeRowWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<float> weight = stackalloc float[BlockElements];
        Span<byte> levels = stackalloc byte[BlockElements];
        Span<byte> scratch = stackalloc byte[BlockElements];
        var sigma2 = LegacyWeights.RowSigma2(x);
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            LegacyWeights.Fill(xb, importance.Slice(b, BlockElements), sigma2, weight);
            var d = AffineSearch.MakeQkx3(xb, 15, weight, levels, out var negatedMin, scratch, -0.9f, 0.05f, 36, false);
            var block = destination.Slice(o, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(-negatedMin));
            for (var j = 0; j < 16; j++)
            {
                block[4 + j] = (byte)(levels[j] | (levels[j + 16] << 4));
            }
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var m = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[(o + 2)..]));
            var qs = source.Slice(o + 4, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                output[j] = (qs[j] & 0x0F) * d + m;
                output[j + 16] = (qs[j] >> 4) * d + m;
            }
        }
    }
}
