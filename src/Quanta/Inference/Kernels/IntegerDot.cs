using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The exact integer part of a block dot product: Σ aᵢ·bᵢ over signed bytes. Integer sums do not depend on their
/// order, so every width gives the same result; the vector paths only go faster.
/// </summary>
internal static class IntegerDot
{
    /// <summary>Σ a[i]·b[i] over a length that is a multiple of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, KernelWidth width)
    {
        var i = 0;
        var sum = 0;
        if (width == KernelWidth.Vector512)
        {
            var acc = Vector512<int>.Zero;
            for (; i + 64 <= a.Length; i += 64)
            {
                var (aLow, aHigh) = Vector512.Widen(Vector512.Create(a[i..]));
                var (bLow, bHigh) = Vector512.Widen(Vector512.Create(b[i..]));
                var (p0, p1) = Vector512.Widen(aLow * bLow);
                var (p2, p3) = Vector512.Widen(aHigh * bHigh);
                acc += (p0 + p1) + (p2 + p3);
            }
            sum += Vector512.Sum(acc);
        }
        if (width != KernelWidth.Scalar)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 32 <= a.Length; i += 32)
            {
                var (aLow, aHigh) = Vector256.Widen(Vector256.Create(a[i..]));
                var (bLow, bHigh) = Vector256.Widen(Vector256.Create(b[i..]));
                var (p0, p1) = Vector256.Widen(aLow * bLow);
                var (p2, p3) = Vector256.Widen(aHigh * bHigh);
                acc += (p0 + p1) + (p2 + p3);
            }
            for (; i + 16 <= a.Length; i += 16)
            {
                var product = Vector256.WidenLower(Vector128.Create(a[i..]).ToVector256()) * Vector256.WidenLower(Vector128.Create(b[i..]).ToVector256());
                var (p0, p1) = Vector256.Widen(product);
                acc += p0 + p1;
            }
            sum += Vector256.Sum(acc);
        }
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>The signed-byte quants of a Q8_0 or Q8_K block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<sbyte> Signed(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, sbyte>(bytes);
}
