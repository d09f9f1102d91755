using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The facts that tell Q4_0, Q4_1, Q5_0 and Q5_1 apart. All four store 32 values as an fp16 header, for the
/// 5-bit kinds a 32-bit word of fifth bits (bit j for value j), and 16 bytes of low nibbles (value j in the low
/// nibble of byte j, value j+16 in the high one).
/// </summary>
internal interface INibbleLayout
{
    static abstract int BlockBytes { get; }

    /// <summary>Q5_0, Q5_1: 5-bit levels, the fifth bits in a <c>qh</c> word after the header.</summary>
    static abstract bool FifthBit { get; }

    /// <summary>Q4_1, Q5_1: scale and minimum, <c>x ≈ q·d + m</c>; otherwise scale only, <c>x ≈ (q − zero)·d</c>.</summary>
    static abstract bool Affine { get; }

    /// <summary>
    /// Whether the reference quantizer clamps a level to the top (<c>MIN(15, (int8_t)…)</c>); ggml's Q5_1 does
    /// not (<c>(uint8_t)…</c>).
    /// </summary>
    static abstract bool ClampsLevels { get; }
}

/// <summary>
/// The block encoders and decoders of the nibble formats, written once over <typeparamref name="TLayout"/> (its members are
/// constants, so the JIT folds every layout test away). The scalar <see cref="EncodeBlock"/> is ggml's
/// <c>quantize_row_q4_0_ref</c> (and siblings) operation for operation; the vector forms only vectorise the
/// order-independent block extremes and the per-element multiply/add/truncate (see <see cref="LegacySimd"/>).
/// </summary>
internal readonly struct NibbleBlocks<TLayout> : ILegacyBlockFormat
    where TLayout : struct, INibbleLayout
{
    /// <summary>Highest level: 15 or 31.</summary>
    public static int Top => TLayout.FifthBit ? 31 : 15;

    /// <summary>The level of zero in the symmetric formats (and ggml's <c>nmax</c> for them): 8 or 16.</summary>
    public static int ZeroLevel => TLayout.FifthBit ? 16 : 8;

    // ggml's divisor `-8` / `-16` as a float constant, so the JIT sees the exact power of two (and multiplies).
    static float NegatedZeroLevel => TLayout.FifthBit ? -16f : -8f;

    public static int QhOffset => TLayout.Affine ? 4 : 2;

    public static int QsOffset => QhOffset + (TLayout.FifthBit ? 4 : 0);

    public static int BlockBytes => TLayout.BlockBytes;

    public static void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        float d;
        float min = 0;
        if (TLayout.Affine)
        {
            min = float.MaxValue;
            var max = -float.MaxValue;
            for (var j = 0; j < 32; j++)
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
            d = (max - min) / Top;
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
        }
        else
        {
            // The signed value of largest magnitude, first one on ties: its sign decides the sign of d.
            d = GgmlMath.LargestMagnitude(x[..32], out _) / NegatedZeroLevel;
        }
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var qs = block.Slice(QsOffset, 16);
        uint qh = 0;
        for (var j = 0; j < 16; j++)
        {
            var q0 = Level(x[j], min, id);
            var q1 = Level(x[j + 16], min, id);
            if (TLayout.FifthBit)
            {
                qs[j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            else
            {
                qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
        if (TLayout.FifthBit)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block[QhOffset..], qh);
        }
    }

    // Multiply (after subtracting the minimum), then add the offset and truncate: two roundings, exactly as ggml
    // (not a single round()).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte Level(float x, float min, float id)
    {
        var v = TLayout.Affine ? (x - min) * id + 0.5f : x * id + (ZeroLevel + 0.5f);
        return TLayout.ClampsLevels ? (byte)Math.Min(Top, GgmlMath.TruncateToInt8(v)) : (byte)GgmlMath.TruncateToInt32(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryEncodeBlock256(ReadOnlySpan<float> x, Span<byte> block)
    {
        var (v0, v1, v2, v3) = LegacySimd.Load256(x);
        float d;
        float min = 0;
        if (TLayout.Affine)
        {
            min = LegacySimd.MinAcross(Vector256.MinNative(Vector256.MinNative(v0, v1), Vector256.MinNative(v2, v3)));
            var max = LegacySimd.MaxAcross(Vector256.MaxNative(Vector256.MaxNative(v0, v1), Vector256.MaxNative(v2, v3)));
            d = AffineScale(min, max);
        }
        else
        {
            d = LegacySimd.SignedAbsMax256(x) / NegatedZeroLevel;
        }
        if (!TryStartBlock(block, d, min, out var id))
        {
            return false;
        }
        WriteQh(block, LegacySimd.PackNibbles(Levels(v0, min, id), Levels(v1, min, id), Levels(v2, min, id), Levels(v3, min, id),
            block[QsOffset..]));
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryEncodeBlock128(ReadOnlySpan<float> x, Span<byte> block)
    {
        var v0 = Vector128.Create(x);
        var v1 = Vector128.Create(x[4..]);
        var v2 = Vector128.Create(x[8..]);
        var v3 = Vector128.Create(x[12..]);
        var v4 = Vector128.Create(x[16..]);
        var v5 = Vector128.Create(x[20..]);
        var v6 = Vector128.Create(x[24..]);
        var v7 = Vector128.Create(x[28..]);
        float d;
        float min = 0;
        if (TLayout.Affine)
        {
            min = LegacySimd.MinAcross(Vector128.MinNative(
                Vector128.MinNative(Vector128.MinNative(v0, v1), Vector128.MinNative(v2, v3)),
                Vector128.MinNative(Vector128.MinNative(v4, v5), Vector128.MinNative(v6, v7))));
            var max = LegacySimd.MaxAcross(Vector128.MaxNative(
                Vector128.MaxNative(Vector128.MaxNative(v0, v1), Vector128.MaxNative(v2, v3)),
                Vector128.MaxNative(Vector128.MaxNative(v4, v5), Vector128.MaxNative(v6, v7))));
            d = AffineScale(min, max);
        }
        else
        {
            d = LegacySimd.SignedAbsMax128(x) / NegatedZeroLevel;
        }
        if (!TryStartBlock(block, d, min, out var id))
        {
            return false;
        }
        WriteQh(block, LegacySimd.PackNibbles(Levels(v0, min, id), Levels(v1, min, id), Levels(v2, min, id), Levels(v3, min, id),
            Levels(v4, min, id), Levels(v5, min, id), Levels(v6, min, id), Levels(v7, min, id), block[QsOffset..]));
        return true;
    }

    // A zero extreme may be +0 or -0 depending on which came first, and its sign reaches the bytes: NaN then
    // sends the block to the scalar code.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float AffineScale(float min, float max) => min == 0 || max == 0 ? float.NaN : (max - min) / Top;

    /// <summary>Writes the header and gives 1/d, unless 1/d is not finite (then only the scalar code is exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool TryStartBlock(Span<byte> block, float d, float min, out float id)
    {
        id = d != 0 ? 1f / d : 0f;
        if (!float.IsFinite(id))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        if (TLayout.Affine)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min));
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void WriteQh(Span<byte> block, uint qh)
    {
        if (TLayout.FifthBit)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block[QhOffset..], qh);
        }
    }

    // The scalar Level lane by lane. A finite 1/d keeps every lane in int range, where the int8 and int32
    // truncations agree.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Levels(Vector256<float> v, float min, float id)
    {
        var scaled = TLayout.Affine
            ? (v - Vector256.Create(min)) * id + Vector256.Create(0.5f)
            : v * id + Vector256.Create(ZeroLevel + 0.5f);
        var q = Vector256.ConvertToInt32Native(scaled);
        return TLayout.ClampsLevels ? Vector256.Min(q, Vector256.Create(Top)) : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<int> Levels(Vector128<float> v, float min, float id)
    {
        var scaled = TLayout.Affine
            ? (v - Vector128.Create(min)) * id + Vector128.Create(0.5f)
            : v * id + Vector128.Create(ZeroLevel + 0.5f);
        var q = Vector128.ConvertToInt32Native(scaled);
        return TLayout.ClampsLevels ? Vector128.Min(q, Vector128.Create(Top)) : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var m = TLayout.Affine ? Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[2..])) : 0f;
        var qh = TLayout.FifthBit ? BinaryPrimitives.ReadUInt32LittleEndian(block[QhOffset..]) : 0u;
        var qs = block.Slice(QsOffset, 16);
        for (var j = 0; j < 16; j++)
        {
            var q0 = qs[j] & 0x0F;
            var q1 = qs[j] >> 4;
            if (TLayout.FifthBit)
            {
                q0 |= (int)((qh >> j) << 4) & 0x10;
                q1 |= (int)(qh >> (j + 12)) & 0x10;
            }
            if (TLayout.Affine)
            {
                y[j] = q0 * d + m;
                y[j + 16] = q1 * d + m;
            }
            else
            {
                y[j] = (q0 - ZeroLevel) * d;
                y[j + 16] = (q1 - ZeroLevel) * d;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DecodeBlock256(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var (bytes, _) = Vector256.Widen(Vector256.Create(Vector128.Create(block.Slice(QsOffset, 16)), Vector128<byte>.Zero));
        var (first, second) = Vector256.Widen(bytes);
        var nibble = Vector256.Create(0x0F);
        var q0 = first.AsInt32() & nibble;
        var q1 = second.AsInt32() & nibble;
        var q2 = Vector256.ShiftRightLogical(first.AsInt32(), 4);
        var q3 = Vector256.ShiftRightLogical(second.AsInt32(), 4);
        if (TLayout.FifthBit)
        {
            // Lane j of a group takes bit j of qh (one group of eight bits per vector) as 0x10.
            var qh = Vector256.Create(BinaryPrimitives.ReadInt32LittleEndian(block[QhOffset..]));
            var bits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);
            q0 |= FifthBits(qh, bits);
            q1 |= FifthBits(qh, Vector256.ShiftLeft(bits, 8));
            q2 |= FifthBits(qh, Vector256.ShiftLeft(bits, 16));
            q3 |= FifthBits(qh, Vector256.ShiftLeft(bits, 24));
        }
        if (TLayout.Affine)
        {
            var m = Vector256.Create(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[2..])));
            (Vector256.ConvertToSingle(q0) * d + m).CopyTo(y);
            (Vector256.ConvertToSingle(q1) * d + m).CopyTo(y[8..]);
            (Vector256.ConvertToSingle(q2) * d + m).CopyTo(y[16..]);
            (Vector256.ConvertToSingle(q3) * d + m).CopyTo(y[24..]);
        }
        else
        {
            var zero = Vector256.Create(ZeroLevel);
            (Vector256.ConvertToSingle(q0 - zero) * d).CopyTo(y);
            (Vector256.ConvertToSingle(q1 - zero) * d).CopyTo(y[8..]);
            (Vector256.ConvertToSingle(q2 - zero) * d).CopyTo(y[16..]);
            (Vector256.ConvertToSingle(q3 - zero) * d).CopyTo(y[24..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> FifthBits(Vector256<int> qh, Vector256<int> bits) =>
        Vector256.Equals(qh & bits, bits) & Vector256.Create(0x10);
}
