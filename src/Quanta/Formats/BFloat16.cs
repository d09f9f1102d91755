using System.Runtime.CompilerServices;

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

    /// <summary>Converts a row (<c>ggml_fp32_to_bf16_row_ref</c>).</summary>
    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        }
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = FromFloat(source[i]);
        }
    }

    /// <summary>Converts a row (<c>ggml_bf16_to_fp32_row</c>).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        }
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = ToFloat(source[i]);
        }
    }
}
