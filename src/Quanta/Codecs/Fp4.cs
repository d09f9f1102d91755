using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Codecs;

/// <summary>
/// What MXFP4 and NVFP4 share: the E2M1 code book (stored doubled, as ggml's <c>kvalues_mxfp4</c>, so every
/// value is an integer and the block scale carries the factor ½), ggml's nearest-code search, and the two
/// scale encodings (E8M0 for MXFP4, UE4M3 for NVFP4) as <c>ggml-impl.h</c> converts them.
/// </summary>
internal static class Fp4
{
    /// <summary>Twice the E2M1 values for codes 0..15 (code 8 is −0, which the search never picks over code 0).</summary>
    public static ReadOnlySpan<sbyte> Values => [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

    /// <summary>
    /// ggml's <c>best_index_mxfp4</c>: the first code with the smallest <c>|value·d − x|</c>. The products are
    /// the caller's (<see cref="FillGrid"/>), computed once per block with the same float multiply ggml does per
    /// element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BestIndex(float x, ReadOnlySpan<float> grid)
    {
        var best = 0;
        var bestError = MathF.Abs(grid[0] - x);
        for (var i = 1; i < 16; i++)
        {
            var error = MathF.Abs(grid[i] - x);
            if (error < bestError)
            {
                best = i;
                bestError = error;
            }
        }
        return best;
    }

    /// <summary><c>grid[i] = kvalues_mxfp4[i]·d</c> in float32, as ggml forms it inside its search.</summary>
    public static void FillGrid(float d, Span<float> grid)
    {
        var values = Values;
        for (var i = 0; i < 16; i++)
        {
            grid[i] = values[i] * d;
        }
    }

    /// <summary>
    /// <see cref="BestIndex"/> on eight values at once: every lane runs the scalar loop's compares in the same
    /// order, so ties resolve to the same (first) code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> BestIndex(Vector256<float> x, ReadOnlySpan<Vector256<float>> grid)
    {
        var best = Vector256<int>.Zero;
        var bestError = Vector256.Abs(grid[0] - x);
        for (var i = 1; i < 16; i++)
        {
            var error = Vector256.Abs(grid[i] - x);
            var better = Vector256.LessThan(error, bestError);
            bestError = Vector256.ConditionalSelect(better, error, bestError);
            best = Vector256.ConditionalSelect(better.AsInt32(), Vector256.Create(i), best);
        }
        return best;
    }

    /// <summary>
    /// ggml's <c>GGML_E8M0_TO_FP32_HALF</c>: 2^(e−128), half the E8M0 scale, because the code book is doubled.
    /// Exponents 0 and 1 give the subnormals 2^-128 and 2^-127.
    /// </summary>
    public static float E8M0ToFloatHalf(byte e) =>
        BitConverter.UInt32BitsToSingle(e < 2 ? 0x00200000u << e : (uint)(e - 1) << 23);

    /// <summary>
    /// ggml's <c>ggml_ue4m3_to_fp32</c>: unsigned 4-bit exponent (bias 7), 3-bit mantissa, halved for the doubled
    /// code book; 0 and 0x7F (NaN in E4M3) read as zero. Every result is exact in float32.
    /// </summary>
    public static float Ue4m3ToFloat(byte x)
    {
        if (x is 0 or 0x7F)
        {
            return 0f;
        }
        var exponent = (x >> 3) & 0xF;
        var mantissa = x & 0x7;
        var raw = exponent == 0
            ? MathF.ScaleB(mantissa, -9)
            : MathF.ScaleB(1f + mantissa / 8f, exponent - 7);
        return raw * 0.5f;
    }

    /// <summary>
    /// ggml's <c>ggml_fp32_to_ue4m3</c>: clamps to 448, rounds the mantissa half-up on bit 19 (not to even),
    /// saturates at 0x7E, and rounds subnormals through <c>(int)(x·512 + 0.5f)</c>.
    /// </summary>
    public static byte FloatToUe4m3(float x)
    {
        if (!(x > 0f))
        {
            return 0;
        }
        if (x > 448f)
        {
            x = 448f;
        }
        var bits = BitConverter.SingleToUInt32Bits(x);
        var exponent = (int)((bits >> 23) & 0xFF) - 127 + 7;
        var mantissa = (int)((bits >> 20) & 0x7);
        if (exponent <= 0)
        {
            var sub = (int)(x * 512f + 0.5f);
            return sub < 1 ? (byte)0 : (byte)Math.Min(sub, 7);
        }
        if (exponent >= 15)
        {
            return 0x7E;
        }
        mantissa += (int)((bits >> 19) & 1);
        if (mantissa > 7)
        {
            mantissa = 0;
            if (++exponent >= 15)
            {
                return 0x7E;
            }
        }
        return (byte)((exponent << 3) | mantissa);
    }
}
