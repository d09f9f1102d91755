using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F16 → float in the fewest vector operations .NET 10 allows (it exposes no <c>vcvtph2ps</c>: no F16C intrinsic, and
/// <c>Avx10v1</c>'s FP16 forms need AVX-512 FP16 hardware): the half's exponent and mantissa shifted into a float's
/// (<c>(h &amp; 0x7FFF) &lt;&lt; 13</c>) are the value times 2^−112, so one multiplication by 2^112 gives it exactly, for
/// normal and subnormal halves alike (a subnormal half becomes a subnormal float that the multiplication scales back
/// into the normal range, with no rounding). Infinities and NaNs get the float's all-ones exponent first, so the
/// multiplication leaves infinity and quietens a signalling NaN as ggml's table (<see cref="Fp16.ToFloat(ushort)"/>)
/// does; the sign is or-ed back last. Every lane equals the table's bits (tested over all 65,536 halves).
/// </summary>
internal static unsafe class HalfWidening
{
    const float Scale = 5.192296858534828e+33f; // 2^112
    const uint SpecialExponent = 0x7C00u << 13;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector512<uint> h)
    {
        var magnitude = Vector512.ShiftLeft(h & Vector512.Create(0x7FFFu), 13);
        var special = Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(SpecialExponent));
        var scaled = (magnitude | (special & Vector512.Create(0x7F800000u))).AsSingle() * Vector512.Create(Scale);
        return (scaled.AsUInt32() | Vector512.ShiftLeft(h & Vector512.Create(0x8000u), 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<uint> h)
    {
        var magnitude = Vector256.ShiftLeft(h & Vector256.Create(0x7FFFu), 13);
        var special = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(SpecialExponent));
        var scaled = (magnitude | (special & Vector256.Create(0x7F800000u))).AsSingle() * Vector256.Create(Scale);
        return (scaled.AsUInt32() | Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16)).AsSingle();
    }

    /// <summary>Sixteen halves at <paramref name="p"/>, widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(ushort* p) => ToFloat(Vector512.WidenLower(Vector512.Create(Vector256.Load(p), Vector256<ushort>.Zero)));

    /// <summary>Eight halves at <paramref name="p"/>, widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(ushort* p) => ToFloat(Vector256.WidenLower(Vector256.Create(Vector128.Load(p), Vector128<ushort>.Zero)));

    /// <summary><paramref name="n"/> halves to floats at <paramref name="width"/>; the scalar twin is ggml's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(ushort* source, float* destination, int n, KernelWidth width)
    {
        var i = 0;
        if (width == KernelWidth.Vector512)
        {
            for (; i + 32 <= n; i += 32)
            {
                var (low, high) = Vector512.Widen(Vector512.Load(source + i));
                ToFloat(low).Store(destination + i);
                ToFloat(high).Store(destination + i + 16);
            }
        }
        else if (width == KernelWidth.Vector256)
        {
            for (; i + 16 <= n; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.Load(source + i));
                ToFloat(low).Store(destination + i);
                ToFloat(high).Store(destination + i + 8);
            }
        }
        for (; i < n; i++)
        {
            destination[i] = Fp16.ToFloat(source[i]);
        }
    }
}
