using System.Runtime.Intrinsics;

namespace Quanta.Formats;

/// <summary>
/// A 16-bit float format (<see cref="Fp16"/>, <see cref="BFloat16"/>): its scalar conversions, which are the
/// specification, and the same recipe lane by lane at each vector width, which must give the same bits.
/// Implemented by structs so <see cref="HalfPrecisionRows{TFormat}"/> is compiled once per format with these inlined.
/// </summary>
internal interface IHalfPrecisionFormat
{
    static abstract ushort FromFloat(float value);

    static abstract float ToFloat(ushort bits);

    static abstract Vector512<uint> FromFloat(Vector512<float> values);

    static abstract Vector256<uint> FromFloat(Vector256<float> values);

    static abstract Vector128<uint> FromFloat(Vector128<float> values);

    /// <summary>Lanes hold one 16-bit value each, zero-extended.</summary>
    static abstract Vector512<float> ToFloat(Vector512<uint> bits);

    static abstract Vector256<float> ToFloat(Vector256<uint> bits);

    static abstract Vector128<float> ToFloat(Vector128<uint> bits);
}

/// <summary>
/// Row conversion between float32 and a 16-bit format on the widest hardware-accelerated vectors. The per-width
/// paths are callable directly so the tests can compare each one with the scalar definition whatever the machine
/// prefers (a width that is not accelerated still runs, emulated, with the same results).
/// </summary>
internal static class HalfPrecisionRows<TFormat>
    where TFormat : struct, IHalfPrecisionFormat
{
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

    public static void FromFloat512(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector512<float>.Count; i += 2 * Vector512<float>.Count)
        {
            var lower = TFormat.FromFloat(Vector512.Create(source.Slice(i, Vector512<float>.Count)));
            var upper = TFormat.FromFloat(Vector512.Create(source.Slice(i + Vector512<float>.Count, Vector512<float>.Count)));
            Vector512.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    public static void FromFloat256(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector256<float>.Count; i += 2 * Vector256<float>.Count)
        {
            var lower = TFormat.FromFloat(Vector256.Create(source.Slice(i, Vector256<float>.Count)));
            var upper = TFormat.FromFloat(Vector256.Create(source.Slice(i + Vector256<float>.Count, Vector256<float>.Count)));
            Vector256.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    public static void FromFloat128(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - 2 * Vector128<float>.Count; i += 2 * Vector128<float>.Count)
        {
            var lower = TFormat.FromFloat(Vector128.Create(source.Slice(i, Vector128<float>.Count)));
            var upper = TFormat.FromFloat(Vector128.Create(source.Slice(i + Vector128<float>.Count, Vector128<float>.Count)));
            Vector128.Narrow(lower, upper).CopyTo(destination[i..]);
        }
        FromFloatScalar(source, destination, i);
    }

    public static void ToFloat512(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector512<ushort>.Count; i += Vector512<ushort>.Count)
        {
            var (lower, upper) = Vector512.Widen(Vector512.Create(source.Slice(i, Vector512<ushort>.Count)));
            TFormat.ToFloat(lower).CopyTo(destination[i..]);
            TFormat.ToFloat(upper).CopyTo(destination[(i + Vector512<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
    }

    public static void ToFloat256(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
        {
            var (lower, upper) = Vector256.Widen(Vector256.Create(source.Slice(i, Vector256<ushort>.Count)));
            TFormat.ToFloat(lower).CopyTo(destination[i..]);
            TFormat.ToFloat(upper).CopyTo(destination[(i + Vector256<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
    }

    public static void ToFloat128(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        var i = 0;
        for (; i <= source.Length - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
        {
            var (lower, upper) = Vector128.Widen(Vector128.Create(source.Slice(i, Vector128<ushort>.Count)));
            TFormat.ToFloat(lower).CopyTo(destination[i..]);
            TFormat.ToFloat(upper).CopyTo(destination[(i + Vector128<float>.Count)..]);
        }
        ToFloatScalar(source, destination, i);
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
            destination[i] = TFormat.FromFloat(source[i]);
        }
    }

    static void ToFloatScalar(ReadOnlySpan<ushort> source, Span<float> destination, int start)
    {
        for (var i = start; i < source.Length; i++)
        {
            destination[i] = TFormat.ToFloat(source[i]);
        }
    }
}
