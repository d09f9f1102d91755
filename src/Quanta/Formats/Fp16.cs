using System.Runtime.CompilerServices;

namespace Quanta.Formats;

/// <summary>
/// IEEE half precision exactly as ggml converts it in software (<c>ggml_compute_fp32_to_fp16</c> /
/// <c>ggml_compute_fp16_to_fp32</c>, after Maratyszcza's FP16 library): round to nearest even, subnormals kept,
/// overflow to ±inf, and every NaN becomes 0x7E00 with its sign. These are the scalar definitions; vector
/// paths must give the same bits.
/// </summary>
public static class Fp16
{
    /// <summary>fp32 → fp16 bits, ggml's rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f)
    {
        const float ScaleToInf = 5.192296858534828e+33f; // 2^112
        const float ScaleToZero = 7.703719777548943e-34f; // 2^-110
        // Two multiplications push the value to the half-precision rounding point in float32 arithmetic;
        // the adds below then round the mantissa to 10 bits with the FPU's round-to-nearest-even.
        var @base = MathF.Abs(f) * ScaleToInf * ScaleToZero;
        var w = BitConverter.SingleToUInt32Bits(f);
        var shl1W = w + w;
        var sign = w & 0x80000000u;
        var bias = shl1W & 0xFF000000u;
        if (bias < 0x71000000u)
        {
            bias = 0x71000000u;
        }
        @base = BitConverter.UInt32BitsToSingle((bias >> 1) + 0x07800000u) + @base;
        var bits = BitConverter.SingleToUInt32Bits(@base);
        var expBits = (bits >> 13) & 0x00007C00u;
        var mantissaBits = bits & 0x00000FFFu;
        var nonsign = expBits + mantissaBits;
        return (ushort)((sign >> 16) | (shl1W > 0xFF000000u ? 0x7E00u : nonsign));
    }

    /// <summary>fp16 bits → fp32, exact (every half is a float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => Table[h];

    /// <summary>The arithmetic definition behind <see cref="Table"/>.</summary>
    internal static float ToFloatComputed(ushort h)
    {
        var w = (uint)h << 16;
        var sign = w & 0x80000000u;
        var twoW = w + w;
        const uint ExpOffset = 0xE0u << 23;
        const float ExpScale = 1.925929944387236e-34f; // 2^-112
        var normalized = BitConverter.UInt32BitsToSingle((twoW >> 4) + ExpOffset) * ExpScale;
        const uint MagicMask = 126u << 23;
        const float MagicBias = 0.5f;
        var denormalized = BitConverter.UInt32BitsToSingle((twoW >> 17) | MagicMask) - MagicBias;
        const uint DenormalizedCutoff = 1u << 27;
        var result = sign | (twoW < DenormalizedCutoff
            ? BitConverter.SingleToUInt32Bits(denormalized)
            : BitConverter.SingleToUInt32Bits(normalized));
        return BitConverter.UInt32BitsToSingle(result);
    }

    // ggml keeps the same 256 KiB table (ggml_table_f32_f16); a lookup beats the arithmetic on every path.
    static readonly float[] Table = BuildTable();

    static float[] BuildTable()
    {
        var table = new float[65536];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = ToFloatComputed((ushort)i);
        }
        return table;
    }

    /// <summary>Converts a row (<c>ggml_fp32_to_fp16_row</c>).</summary>
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

    /// <summary>Converts a row (<c>ggml_fp16_to_fp32_row</c>).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination is shorter than source", nameof(destination));
        }
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = Table[source[i]];
        }
    }
}
