using System.Runtime.CompilerServices;

namespace Quanta.Codecs;

/// <summary>
/// The few C conversions ggml's quantizers rely on, with the exact results of the x86-64 reference build.
/// </summary>
internal static class GgmlMath
{
    /// <summary>
    /// ggml's <c>GROUP_MAX_EPS</c>: a group whose largest magnitude is below this is treated as all zero.
    /// </summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// The value of largest magnitude, signed, the first one on ties (ggml's <c>if (ax &gt; amax) { amax = ax;
    /// max = x[i]; }</c> loop, which every symmetric quantizer starts with: the sign of that value decides the
    /// sign of the scale). <paramref name="magnitude"/> receives its absolute value; both are 0 for an empty or
    /// all-zero span.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LargestMagnitude(ReadOnlySpan<float> x, out float magnitude)
    {
        float max = 0;
        float amax = 0;
        for (var i = 0; i < x.Length; ++i)
        {
            var ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        magnitude = amax;
        return max;
    }

    /// <summary>
    /// ggml's <c>nearest_int</c>: adds 1.5·2²³ so the FPU rounds to nearest even, then reads the low mantissa
    /// bits. Reproduced bit for bit (not with MathF.Round) so that even out-of-range inputs give ggml's value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float value)
    {
        var shifted = value + 12582912f;
        return (BitConverter.SingleToInt32Bits(shifted) & 0x007FFFFF) - 0x00400000;
    }

    /// <summary>
    /// C's float → int conversion as x86-64 compiles it (<c>cvttss2si</c>): truncation toward zero, and
    /// 0x80000000 for NaN or anything outside the int range. .NET's own cast saturates instead, which would
    /// change the low byte ggml keeps in its <c>(int8_t)</c>/<c>(uint8_t)</c> casts when a scale overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TruncateToInt32(float value) =>
        value is >= -2147483648f and < 2147483648f ? (int)value : int.MinValue;

    /// <summary>C's <c>(int8_t)</c> cast of a float on x86-64: the low byte of <see cref="TruncateToInt32"/>, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TruncateToInt8(float value) => (sbyte)TruncateToInt32(value);
}
