using System.Runtime.CompilerServices;

namespace Quanta.Codecs.Search;

/// <summary>
/// The rounding primitives every K-quant search shares, exactly as ggml's <c>ggml-quants.c</c> defines them.
/// </summary>
internal static class KQuantRounding
{
    /// <summary>
    /// ggml's <c>GROUP_MAX_EPS</c>: a group whose largest magnitude is below this is treated as all zero.
    /// </summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// ggml's <c>nearest_int</c>. Adding 1.5·2²³ pushes the value into the binade where one ulp is 1, so the FPU's
    /// round-to-nearest-even does the rounding; the integer is then read back from the low mantissa bits. For
    /// |value| &lt; 2²² this is round-half-to-even; beyond that (ggml only asserts in debug builds) it wraps in
    /// the same way ggml's does, which is why we keep the trick rather than calling MathF.Round.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float value)
    {
        var shifted = value + 12582912f;
        return (BitConverter.SingleToInt32Bits(shifted) & 0x007FFFFF) - 0x00400000;
    }
}
