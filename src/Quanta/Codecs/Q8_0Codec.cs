using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q8_0: blocks of 32 as an fp16 scale <c>d = amax/127</c> and 32 signed bytes <c>roundf(x/d)</c>
/// (<c>quantize_row_q8_0_ref</c>; ggml ignores importance weights for this type).
/// </summary>
internal sealed class Q8_0Codec() : LegacyCodec<Q8_0Blocks>(GgmlType.Q8_0);

/// <summary>The Q8_0 block encoders and decoders: 34 bytes, d and qs[32].</summary>
internal readonly struct Q8_0Blocks : ILegacyBlockFormat
{
    public static int BlockBytes => 34;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryEncodeBlock256(ReadOnlySpan<float> x, Span<byte> block)
    {
        var (v0, v1, v2, v3) = LegacySimd.Load256(x);
        var amax = LegacySimd.MaxAcross(Vector256.MaxNative(
            Vector256.MaxNative(Vector256.Abs(v0), Vector256.Abs(v1)),
            Vector256.MaxNative(Vector256.Abs(v2), Vector256.Abs(v3))));
        var d = amax / 127;
        var id = d != 0 ? 1f / d : 0f;
        if (!float.IsFinite(id))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var bytes = Vector256.Narrow(
            Vector256.Narrow(RoundHalfAwayFromZero(v0 * id), RoundHalfAwayFromZero(v1 * id)),
            Vector256.Narrow(RoundHalfAwayFromZero(v2 * id), RoundHalfAwayFromZero(v3 * id)));
        bytes.AsByte().CopyTo(block[2..]);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryEncodeBlock128(ReadOnlySpan<float> x, Span<byte> block)
    {
        var amaxVector = Vector128<float>.Zero;
        for (var k = 0; k < 32; k += 4)
        {
            amaxVector = Vector128.MaxNative(amaxVector, Vector128.Abs(Vector128.Create(x[k..])));
        }
        var d = LegacySimd.MaxAcross(amaxVector) / 127;
        var id = d != 0 ? 1f / d : 0f;
        if (!float.IsFinite(id))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var g = 0; g < 2; g++)
        {
            var q = x[(16 * g)..];
            Vector128.Narrow(
                    Vector128.Narrow(RoundHalfAwayFromZero(Vector128.Create(q) * id), RoundHalfAwayFromZero(Vector128.Create(q[4..]) * id)),
                    Vector128.Narrow(RoundHalfAwayFromZero(Vector128.Create(q[8..]) * id), RoundHalfAwayFromZero(Vector128.Create(q[12..]) * id)))
                .AsByte().CopyTo(block[(2 + 16 * g)..]);
        }
        return true;
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

    /// <summary>The specification: <c>quantize_row_q8_0_ref</c> on one block.</summary>
    public static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        float amax = 0;
        for (var j = 0; j < 32; j++)
        {
            amax = MathF.Max(amax, MathF.Abs(x[j]));
        }
        var d = amax / 127;
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < 32; j++)
        {
            // roundf: half away from zero; the int8_t store keeps the low byte of C's conversion.
            block[2 + j] = (byte)GgmlMath.TruncateToInt32(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var qs = block.Slice(2, 32);
        for (var j = 0; j < 32; j++)
        {
            y[j] = (sbyte)qs[j] * d;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DecodeBlock256(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var (low, high) = Vector256.Widen(Vector256.Create(block.Slice(2, 32)).AsSByte());
        var (q0, q1) = Vector256.Widen(low);
        var (q2, q3) = Vector256.Widen(high);
        (Vector256.ConvertToSingle(q0) * d).CopyTo(y);
        (Vector256.ConvertToSingle(q1) * d).CopyTo(y[8..]);
        (Vector256.ConvertToSingle(q2) * d).CopyTo(y[16..]);
        (Vector256.ConvertToSingle(q3) * d).CopyTo(y[24..]);
    }
}
