using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs;

/// <summary>
/// What TQ1_0 and TQ2_0 share: the scale is amax over 256 values and each value becomes a trit
/// <c>lroundf(x/amax) + 1</c> in 0..2.
/// </summary>
internal static class Ternary
{
    public const int BlockElements = 256;

    /// <summary>
    /// <c>(int)(lroundf(v) + 1)</c> on x86-64 glibc: half away from zero; NaN and magnitudes beyond the long
    /// range give LONG_MIN, whose low 32 bits are 0, so the trit is 1. Those only arise when 1/amax overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Trit(float v)
    {
        if (!(MathF.Abs(v) < 9.223372E+18f))
        {
            return 1;
        }
        return unchecked((int)(long)MathF.Round(v, MidpointRounding.AwayFromZero)) + 1;
    }

    /// <summary>Largest magnitude, ggml's <c>MAX(amax, fabsf(v))</c> loop; max is exact in any order.</summary>
    public static float AbsMax(ReadOnlySpan<float> x)
    {
        var amax = 0f;
        foreach (var v in x)
        {
            amax = amax > MathF.Abs(v) ? amax : MathF.Abs(v);
        }
        return amax;
    }

    /// <summary><see cref="AbsMax"/> eight lanes at a time.</summary>
    public static float AbsMax256(ReadOnlySpan<float> x)
    {
        var max = Vector256<float>.Zero;
        for (var k = 0; k < x.Length; k += 8)
        {
            max = Vector256.MaxNative(max, Vector256.Abs(Vector256.Create(x[k..])));
        }
        return LegacySimd.MaxAcross(max);
    }

    /// <summary>
    /// <see cref="Trit"/> on eight values of <c>x·id</c> with a finite id: then |x·id| ≤ 1 + 2⁻²³, so rounding
    /// half away from zero is a comparison with ±0.5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Trits(ReadOnlySpan<float> x, Vector256<float> id)
    {
        var v = Vector256.Create(x) * id;
        // A true compare is all ones (−1): 1 + (v ≥ 0.5) − (v ≤ −0.5).
        return Vector256.Create(1) - Vector256.GreaterThanOrEqual(v, Vector256.Create(0.5f)).AsInt32()
            + Vector256.LessThanOrEqual(v, Vector256.Create(-0.5f)).AsInt32();
    }
}
