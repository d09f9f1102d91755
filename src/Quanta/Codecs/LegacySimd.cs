using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs;

/// <summary>
/// Vector building blocks for the 32-value legacy blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) without importance
/// weights. Only order-independent or element-wise work is vectorised: the block maximum/minimum (exact in any
/// order), the per-element multiply/add/truncate of the reference quantizers (one IEEE operation per lane, the
/// same as the scalar code), and packing. The scale itself (<c>d</c>, <c>1/d</c>) is computed once per block with
/// the scalar expressions. A block a lane-wise path could get wrong (an infinite <c>1/d</c>, a signed-zero
/// minimum whose sign depends on order) is left to the scalar code, which is the specification.
/// </summary>
internal static class LegacySimd
{
    public const int Block = 32;

    /// <summary>Loads one block as four 256-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Load256(ReadOnlySpan<float> x) =>
        (Vector256.Create(x), Vector256.Create(x[8..]), Vector256.Create(x[16..]), Vector256.Create(x[24..]));

    /// <summary>Largest lane of a vector whose lanes are finite; max is exact whatever the order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v)
    {
        var m = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        var result = m[0];
        for (var k = 1; k < Vector128<float>.Count; k++)
        {
            result = MathF.Max(result, m[k]);
        }
        return result;
    }

    /// <summary>Smallest lane of a vector whose lanes are finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MinAcross(Vector256<float> v)
    {
        var m = Vector128.MinNative(v.GetLower(), v.GetUpper());
        var result = m[0];
        for (var k = 1; k < Vector128<float>.Count; k++)
        {
            result = MathF.Min(result, m[k]);
        }
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v)
    {
        var result = v[0];
        for (var k = 1; k < Vector128<float>.Count; k++)
        {
            result = MathF.Max(result, v[k]);
        }
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MinAcross(Vector128<float> v)
    {
        var result = v[0];
        for (var k = 1; k < Vector128<float>.Count; k++)
        {
            result = MathF.Min(result, v[k]);
        }
        return result;
    }

    /// <summary>
    /// The signed value of largest magnitude, first on ties, as ggml's <c>if (amax &lt; fabsf(v))</c> loop
    /// picks it: the magnitude by a vector max, the first index holding it by a mask. 0 for an all-zero block.
    /// </summary>
    public static float SignedAbsMax256(ReadOnlySpan<float> x)
    {
        var (v0, v1, v2, v3) = Load256(x);
        var a0 = Vector256.Abs(v0);
        var a1 = Vector256.Abs(v1);
        var a2 = Vector256.Abs(v2);
        var a3 = Vector256.Abs(v3);
        var amax = MaxAcross(Vector256.MaxNative(Vector256.MaxNative(a0, a1), Vector256.MaxNative(a2, a3)));
        if (amax == 0)
        {
            return 0; // ggml never replaces its initial +0, so -0 inputs still give +0
        }
        var target = Vector256.Create(amax);
        var mask = Vector256.Equals(a0, target).ExtractMostSignificantBits()
            | Vector256.Equals(a1, target).ExtractMostSignificantBits() << 8
            | Vector256.Equals(a2, target).ExtractMostSignificantBits() << 16
            | Vector256.Equals(a3, target).ExtractMostSignificantBits() << 24;
        return x[BitOperations.TrailingZeroCount(mask)];
    }

    public static float SignedAbsMax128(ReadOnlySpan<float> x)
    {
        var amaxVector = Vector128<float>.Zero;
        for (var k = 0; k < Block; k += Vector128<float>.Count)
        {
            amaxVector = Vector128.MaxNative(amaxVector, Vector128.Abs(Vector128.Create(x[k..])));
        }
        var amax = MaxAcross(amaxVector);
        if (amax == 0)
        {
            return 0;
        }
        var target = Vector128.Create(amax);
        uint mask = 0;
        for (var k = 0; k < Block; k += Vector128<float>.Count)
        {
            mask |= Vector128.Equals(Vector128.Abs(Vector128.Create(x[k..])), target).ExtractMostSignificantBits() << k;
        }
        return x[BitOperations.TrailingZeroCount(mask)];
    }

    /// <summary>
    /// Packs 32 quants (already in 0..15 or 0..31) into 16 nibble bytes (j low, j+16 high) and returns the
    /// fifth bits as ggml's <c>qh</c> word (bit j = bit 4 of quant j).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PackNibbles(Vector256<int> q0, Vector256<int> q1, Vector256<int> q2, Vector256<int> q3, Span<byte> qs)
    {
        var low = Vector256.Create(0x0F);
        var packed0 = (q0 & low) | Vector256.ShiftLeft(q2 & low, 4);
        var packed1 = (q1 & low) | Vector256.ShiftLeft(q3 & low, 4);
        var bytes = Vector256.Narrow(Vector256.Narrow(packed0, packed1), Vector256<short>.Zero);
        bytes.GetLower().AsByte().CopyTo(qs);
        return FifthBits(q0) | FifthBits(q1) << 8 | FifthBits(q2) << 16 | FifthBits(q3) << 24;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint FifthBits(Vector256<int> q) => Vector256.ShiftLeft(q, 27).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint FifthBits(Vector128<int> q) => Vector128.ShiftLeft(q, 27).ExtractMostSignificantBits();

    /// <summary>
    /// 128-bit form of <see cref="PackNibbles(Vector256{int}, Vector256{int}, Vector256{int}, Vector256{int}, Span{byte})"/>:
    /// <paramref name="q0"/> holds quants 0..3, <paramref name="q1"/> 4..7, and so on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PackNibbles(Vector128<int> q0, Vector128<int> q1, Vector128<int> q2, Vector128<int> q3,
        Vector128<int> q4, Vector128<int> q5, Vector128<int> q6, Vector128<int> q7, Span<byte> qs)
    {
        var low = Vector128.Create(0x0F);
        var a = (q0 & low) | Vector128.ShiftLeft(q4 & low, 4);
        var b = (q1 & low) | Vector128.ShiftLeft(q5 & low, 4);
        var c = (q2 & low) | Vector128.ShiftLeft(q6 & low, 4);
        var e = (q3 & low) | Vector128.ShiftLeft(q7 & low, 4);
        Vector128.Narrow(Vector128.Narrow(a, b), Vector128.Narrow(c, e)).AsByte().CopyTo(qs);
        return FifthBits(q0) | FifthBits(q1) << 4 | FifthBits(q2) << 8 | FifthBits(q3) << 12
            | FifthBits(q4) << 16 | FifthBits(q5) << 20 | FifthBits(q6) << 24 | FifthBits(q7) << 28;
    }
}
