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
    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        if (Vector512.IsHardwareAccelerated)
        {
            FromFloat512(source, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            FromFloat256(source, destination);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            FromFloat128(source, destination);
        }
        else
        {
            FromFloatScalar(source, destination, 0);
        }
    }

    /// <summary>Converts a row (<c>ggml_bf16_to_fp32_row</c>).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        if (Vector512.IsHardwareAccelerated)
        {
            ToFloat512(source, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            ToFloat256(source, destination);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            ToFloat128(source, destination);
        }
        else
        {
            ToFloatScalar(source, destination, 0);
        }
    }

    static void CheckLengths(int source, int destination)
    {
        if (destination < source)
        {
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        }
    }

    static void FromFloatScalar(ReadOnlySpan<float> source, Span<ushort> destination, int start)
    {
        for (var i = start; i < source.Length; i++)
        {
            destination[i] = FromFloat(source[i]);
        }
    }

    static void ToFloatScalar(ReadOnlySpan<ushort> source, Span<float> destination, int start)
    {
        for (var i = start; i < source.Length; i++)
        {
            destination[i] = ToFloat(source[i]);
        }
    }

    // Vector paths: the scalar integer recipe lane by lane (no float arithmetic at all, so no rounding can
    // differ). Internal and callable per width so the tests reach every width on any machine.

    internal static void FromFloat512(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector512<float>.Count; i += 2 * Vector512<float>.Count)
        {
            var lower = EncodeLanes(Vector512.Create(source.Slice(i, Vector512<float>.Count)).AsUInt32());
            var upper = EncodeLanes(Vector512.Create(source.Slice(i + Vector512<float>.Count, Vector512<float>.Count)).AsUInt32());
            Vector512.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    internal static void FromFloat256(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector256<float>.Count; i += 2 * Vector256<float>.Count)
        {
            var lower = EncodeLanes(Vector256.Create(source.Slice(i, Vector256<float>.Count)).AsUInt32());
            var upper = EncodeLanes(Vector256.Create(source.Slice(i + Vector256<float>.Count, Vector256<float>.Count)).AsUInt32());
            Vector256.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    internal static void FromFloat128(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector128<float>.Count; i += 2 * Vector128<float>.Count)
        {
            var lower = EncodeLanes(Vector128.Create(source.Slice(i, Vector128<float>.Count)).AsUInt32());
            var upper = EncodeLanes(Vector128.Create(source.Slice(i + Vector128<float>.Count, Vector128<float>.Count)).AsUInt32());
            Vector128.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    internal static void ToFloat512(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
        {
            var (lower, upper) = Vector512.Widen(Vector512.Create(source.Slice(i, Vector512<ushort>.Count)));
            Vector512.ShiftLeft(lower, 16).AsSingle().CopyTo(destination[i..]);
            Vector512.ShiftLeft(upper, 16).AsSingle().CopyTo(destination[(i + Vector512<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
    }

    internal static void ToFloat256(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
        {
            var (lower, upper) = Vector256.Widen(Vector256.Create(source.Slice(i, Vector256<ushort>.Count)));
            Vector256.ShiftLeft(lower, 16).AsSingle().CopyTo(destination[i..]);
            Vector256.ShiftLeft(upper, 16).AsSingle().CopyTo(destination[(i + Vector256<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
    }

    internal static void ToFloat128(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
        {
            var (lower, upper) = Vector128.Widen(Vector128.Create(source.Slice(i, Vector128<ushort>.Count)));
            Vector128.ShiftLeft(lower, 16).AsSingle().CopyTo(destination[i..]);
            Vector128.ShiftLeft(upper, 16).AsSingle().CopyTo(destination[(i + Vector128<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<uint> EncodeLanes(Vector512<uint> u)
    {
        var isNaN = Vector512.GreaterThan(u & Vector512.Create(0x7FFFFFFFu), Vector512.Create(0x7F800000u));
        var rounded = Vector512.ShiftRightLogical(u + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(u, 16) & Vector512<uint>.One), 16);
        var quieted = Vector512.ShiftRightLogical(u, 16) | Vector512.Create(64u);
        return Vector512.ConditionalSelect(isNaN, quieted, rounded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<uint> EncodeLanes(Vector256<uint> u)
    {
        var isNaN = Vector256.GreaterThan(u & Vector256.Create(0x7FFFFFFFu), Vector256.Create(0x7F800000u));
        var rounded = Vector256.ShiftRightLogical(u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256<uint>.One), 16);
        var quieted = Vector256.ShiftRightLogical(u, 16) | Vector256.Create(64u);
        return Vector256.ConditionalSelect(isNaN, quieted, rounded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<uint> EncodeLanes(Vector128<uint> u)
    {
        var isNaN = Vector128.GreaterThan(u & Vector128.Create(0x7FFFFFFFu), Vector128.Create(0x7F800000u));
        var rounded = Vector128.ShiftRightLogical(u + Vector128.Create(0x7FFFu) + (Vector128.ShiftRightLogical(u, 16) & Vector128<uint>.One), 16);
        var quieted = Vector128.ShiftRightLogical(u, 16) | Vector128.Create(64u);
        return Vector128.ConditionalSelect(isNaN, quieted, rounded);
    }
}
