using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q8_0: blocks of 32 as an fp16 scale <c>d = amax/127</c> and 32 signed bytes <c>roundf(x/d)</c>
/// (<c>quantize_row_q8_0_ref</c>; ggml ignores importance weights for this type).
/// </summary>
internal sealed class Q8_0Codec() : RowCodec(GgmlType.Q8_0)
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 34;

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        EncodeBlocks(row, destination);

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
            var amax = LegacySimd.MaxAcross(Vector256.MaxNative(
                Vector256.MaxNative(Vector256.Abs(v0), Vector256.Abs(v1)),
                Vector256.MaxNative(Vector256.Abs(v2), Vector256.Abs(v3))));
            var d = amax / 127;
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            var bytes = Vector256.Narrow(
                Vector256.Narrow(RoundHalfAwayFromZero(v0 * id), RoundHalfAwayFromZero(v1 * id)),
                Vector256.Narrow(RoundHalfAwayFromZero(v2 * id), RoundHalfAwayFromZero(v3 * id)));
            bytes.AsByte().CopyTo(block[2..]);
        }
    }

    internal static void EncodeBlocks128(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector128<int>> q = stackalloc Vector128<int>[8];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var amaxVector = Vector128<float>.Zero;
            for (var k = 0; k < BlockElements; k += 4)
            {
                amaxVector = Vector128.MaxNative(amaxVector, Vector128.Abs(Vector128.Create(xb[k..])));
            }
            var d = LegacySimd.MaxAcross(amaxVector) / 127;
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            for (var k = 0; k < 8; k++)
            {
                q[k] = RoundHalfAwayFromZero(Vector128.Create(xb[(4 * k)..]) * id);
            }
            for (var g = 0; g < 2; g++)
            {
                Vector128.Narrow(Vector128.Narrow(q[4 * g], q[4 * g + 1]), Vector128.Narrow(q[4 * g + 2], q[4 * g + 3]))
                    .AsByte().CopyTo(block[(2 + 16 * g)..]);
            }
        }
    }

    // roundf lane by lane: truncate, then step away from zero when the dropped fraction is at least one half.
    // The fraction q − trunc(q) is exact below 2^23, and a finite 1/d keeps |q| near 127.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> RoundHalfAwayFromZero(Vector256<float> q)
    {
        var truncated = Vector256.Truncate(q);
        var awayFromZero = Vector256.GreaterThanOrEqual(Vector256.Abs(q - truncated), Vector256.Create(0.5f));
        var signedOne = (Vector256.Create(1f).AsUInt32() | (q.AsUInt32() & Vector256.Create(0x80000000u))).AsSingle();
        return Vector256.ConvertToInt32Native(truncated + (signedOne & awayFromZero));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<int> RoundHalfAwayFromZero(Vector128<float> q)
    {
        var truncated = Vector128.Truncate(q);
        var awayFromZero = Vector128.GreaterThanOrEqual(Vector128.Abs(q - truncated), Vector128.Create(0.5f));
        var signedOne = (Vector128.Create(1f).AsUInt32() | (q.AsUInt32() & Vector128.Create(0x80000000u))).AsSingle();
        return Vector128.ConvertToInt32Native(truncated + (signedOne & awayFromZero));
    }

    /// <summary>The specification: <c>quantize_row_q8_0_ref</c> block by block.</summary>
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            amax = MathF.Max(amax, MathF.Abs(x[j]));
        }
        var d = amax / 127;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < BlockElements; j++)
        {
            // roundf: half away from zero; the int8_t store keeps the low byte of C's conversion.
            block[2 + j] = (byte)GgmlMath.TruncateToInt32(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
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

    /// <summary>The specification: <c>dequantize_row_q8_0</c>.</summary>
    internal static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, BlockElements);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < BlockElements; j++)
            {
                output[j] = (sbyte)qs[j] * d;
            }
        }
    }

    /// <summary>Each lane converts an int8 to float (exact) and multiplies once by d, as the scalar loop does.</summary>
    internal static void DecodeBlocks256(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var (low, high) = Vector256.Widen(Vector256.Create(source.Slice(o + 2, BlockElements)).AsSByte());
            var (q0, q1) = Vector256.Widen(low);
            var (q2, q3) = Vector256.Widen(high);
            var output = destination.Slice(y, BlockElements);
            (Vector256.ConvertToSingle(q0) * d).CopyTo(output);
            (Vector256.ConvertToSingle(q1) * d).CopyTo(output[8..]);
            (Vector256.ConvertToSingle(q2) * d).CopyTo(output[16..]);
            (Vector256.ConvertToSingle(q3) * d).CopyTo(output[24..]);
        }
    }
}
