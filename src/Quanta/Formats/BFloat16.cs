using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Formats;

/// <summary>
/// bfloat16 as ggml converts it (<c>ggml_compute_fp32_to_bf16</c>): round to nearest even on the top 16 bits,
/// NaN kept as a quiet NaN (<c>(bits &gt;&gt; 16) | 64</c>); bf16 → fp32 is a shift. Scalar definitions; vector
/// paths must give the same bits.
/// </summary>
public static class BFloat16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f)
    {
        var u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((u >> 16) | 64);
        }
        return (ushort)((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Converts a row (<c>ggml_fp32_to_bf16_row_ref</c>); the widest hardware-accelerated vectors, same bits.</summary>
    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination) =>
        HalfPrecisionRows<Lanes>.FromFloat(source, destination);

    /// <summary>Converts a row (<c>ggml_bf16_to_fp32_row</c>).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination) =>
        HalfPrecisionRows<Lanes>.ToFloat(source, destination);

    /// <summary>The scalar integer recipe lane by lane: no float arithmetic at all, so no rounding can differ.</summary>
    internal readonly struct Lanes : IHalfPrecisionFormat
    {
        public static ushort FromFloat(float value) => BFloat16.FromFloat(value);

        public static float ToFloat(ushort bits) => BFloat16.ToFloat(bits);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> FromFloat(Vector512<float> values)
        {
            var u = values.AsUInt32();
            var isNaN = Vector512.GreaterThan(u & Vector512.Create(0x7FFFFFFFu), Vector512.Create(0x7F800000u));
            var rounded = Vector512.ShiftRightLogical(u + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(u, 16) & Vector512<uint>.One), 16);
            var quieted = Vector512.ShiftRightLogical(u, 16) | Vector512.Create(64u);
            return Vector512.ConditionalSelect(isNaN, quieted, rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> FromFloat(Vector256<float> values)
        {
            var u = values.AsUInt32();
            var isNaN = Vector256.GreaterThan(u & Vector256.Create(0x7FFFFFFFu), Vector256.Create(0x7F800000u));
            var rounded = Vector256.ShiftRightLogical(u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256<uint>.One), 16);
            var quieted = Vector256.ShiftRightLogical(u, 16) | Vector256.Create(64u);
            return Vector256.ConditionalSelect(isNaN, quieted, rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> FromFloat(Vector128<float> values)
        {
            var u = values.AsUInt32();
            var isNaN = Vector128.GreaterThan(u & Vector128.Create(0x7FFFFFFFu), Vector128.Create(0x7F800000u));
            var rounded = Vector128.ShiftRightLogical(u + Vector128.Create(0x7FFFu) + (Vector128.ShiftRightLogical(u, 16) & Vector128<uint>.One), 16);
            var quieted = Vector128.ShiftRightLogical(u, 16) | Vector128.Create(64u);
            return Vector128.ConditionalSelect(isNaN, quieted, rounded);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ToFloat(Vector512<uint> bits) => Vector512.ShiftLeft(bits, 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ToFloat(Vector256<uint> bits) => Vector256.ShiftLeft(bits, 16).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> ToFloat(Vector128<uint> bits) => Vector128.ShiftLeft(bits, 16).AsSingle();
    }
}
