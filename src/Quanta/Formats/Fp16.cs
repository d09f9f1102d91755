using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Formats;

/// <summary>
/// IEEE half precision exactly as ggml converts it in software (<c>ggml_compute_fp32_to_fp16</c> /
/// <c>ggml_compute_fp16_to_fp32</c>, after Maratyszcza's FP16 library): round to nearest even, subnormals kept,
/// overflow to ±inf, and every NaN becomes 0x7E00 with its sign. These are the scalar definitions; vector
/// paths must give the same bits.
/// </summary>
public static class Fp16
{
    const float ScaleToInf = 5.192296858534828e+33f; // 2^112
    const float ScaleToZero = 7.703719777548943e-34f; // 2^-110
    const uint ExpOffset = 0xE0u << 23;
    const float ExpScale = 1.925929944387236e-34f; // 2^-112
    const uint MagicMask = 126u << 23;
    const float MagicBias = 0.5f;
    const uint DenormalizedCutoff = 1u << 27;

    /// <summary>fp32 → fp16 bits, ggml's rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f)
    {
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
        var normalized = BitConverter.UInt32BitsToSingle((twoW >> 4) + ExpOffset) * ExpScale;
        var denormalized = BitConverter.UInt32BitsToSingle((twoW >> 17) | MagicMask) - MagicBias;
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

    /// <summary>Converts a row (<c>ggml_fp32_to_fp16_row</c>); the widest hardware-accelerated vectors, same bits.</summary>
    public static void FromFloat(ReadOnlySpan<float> source, Span<ushort> destination) =>
        HalfPrecisionRows<Lanes>.FromFloat(source, destination);

    /// <summary>Converts a row (<c>ggml_fp16_to_fp32_row</c>).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, Span<float> destination) =>
        HalfPrecisionRows<Lanes>.ToFloat(source, destination);

    /// <summary>
    /// FromFloat / ToFloatComputed lane by lane: every step is either an integer operation or a single IEEE float
    /// operation, so each lane gives the scalar bits.
    /// </summary>
    internal readonly struct Lanes : IHalfPrecisionFormat
    {
        public static ushort FromFloat(float value) => Fp16.FromFloat(value);

        public static float ToFloat(ushort bits) => Table[bits];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> FromFloat(Vector512<float> f)
        {
            var @base = Vector512.Abs(f) * ScaleToInf * ScaleToZero;
            var w = f.AsUInt32();
            var shl1W = w + w;
            var sign = w & Vector512.Create(0x80000000u);
            var bias = Vector512.Max(shl1W & Vector512.Create(0xFF000000u), Vector512.Create(0x71000000u));
            @base = (Vector512.ShiftRightLogical(bias, 1) + Vector512.Create(0x07800000u)).AsSingle() + @base;
            var bits = @base.AsUInt32();
            var nonsign = (Vector512.ShiftRightLogical(bits, 13) & Vector512.Create(0x7C00u)) + (bits & Vector512.Create(0xFFFu));
            var nan = Vector512.GreaterThan(shl1W, Vector512.Create(0xFF000000u));
            return Vector512.ShiftRightLogical(sign, 16) | Vector512.ConditionalSelect(nan, Vector512.Create(0x7E00u), nonsign);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> FromFloat(Vector256<float> f)
        {
            var @base = Vector256.Abs(f) * ScaleToInf * ScaleToZero;
            var w = f.AsUInt32();
            var shl1W = w + w;
            var sign = w & Vector256.Create(0x80000000u);
            var bias = Vector256.Max(shl1W & Vector256.Create(0xFF000000u), Vector256.Create(0x71000000u));
            @base = (Vector256.ShiftRightLogical(bias, 1) + Vector256.Create(0x07800000u)).AsSingle() + @base;
            var bits = @base.AsUInt32();
            var nonsign = (Vector256.ShiftRightLogical(bits, 13) & Vector256.Create(0x7C00u)) + (bits & Vector256.Create(0xFFFu));
            var nan = Vector256.GreaterThan(shl1W, Vector256.Create(0xFF000000u));
            return Vector256.ShiftRightLogical(sign, 16) | Vector256.ConditionalSelect(nan, Vector256.Create(0x7E00u), nonsign);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<uint> FromFloat(Vector128<float> f)
        {
            var @base = Vector128.Abs(f) * ScaleToInf * ScaleToZero;
            var w = f.AsUInt32();
            var shl1W = w + w;
            var sign = w & Vector128.Create(0x80000000u);
            var bias = Vector128.Max(shl1W & Vector128.Create(0xFF000000u), Vector128.Create(0x71000000u));
            @base = (Vector128.ShiftRightLogical(bias, 1) + Vector128.Create(0x07800000u)).AsSingle() + @base;
            var bits = @base.AsUInt32();
            var nonsign = (Vector128.ShiftRightLogical(bits, 13) & Vector128.Create(0x7C00u)) + (bits & Vector128.Create(0xFFFu));
            var nan = Vector128.GreaterThan(shl1W, Vector128.Create(0xFF000000u));
            return Vector128.ShiftRightLogical(sign, 16) | Vector128.ConditionalSelect(nan, Vector128.Create(0x7E00u), nonsign);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> ToFloat(Vector512<uint> h)
        {
            var w = Vector512.ShiftLeft(h, 16);
            var sign = w & Vector512.Create(0x80000000u);
            var twoW = w + w;
            var normalized = (Vector512.ShiftRightLogical(twoW, 4) + Vector512.Create(ExpOffset)).AsSingle() * ExpScale;
            var denormalized = (Vector512.ShiftRightLogical(twoW, 17) | Vector512.Create(MagicMask)).AsSingle() - Vector512.Create(MagicBias);
            var isDenormal = Vector512.LessThan(twoW, Vector512.Create(DenormalizedCutoff));
            return (sign | Vector512.ConditionalSelect(isDenormal, denormalized.AsUInt32(), normalized.AsUInt32())).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ToFloat(Vector256<uint> h)
        {
            var w = Vector256.ShiftLeft(h, 16);
            var sign = w & Vector256.Create(0x80000000u);
            var twoW = w + w;
            var normalized = (Vector256.ShiftRightLogical(twoW, 4) + Vector256.Create(ExpOffset)).AsSingle() * ExpScale;
            var denormalized = (Vector256.ShiftRightLogical(twoW, 17) | Vector256.Create(MagicMask)).AsSingle() - Vector256.Create(MagicBias);
            var isDenormal = Vector256.LessThan(twoW, Vector256.Create(DenormalizedCutoff));
            return (sign | Vector256.ConditionalSelect(isDenormal, denormalized.AsUInt32(), normalized.AsUInt32())).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> ToFloat(Vector128<uint> h)
        {
            var w = Vector128.ShiftLeft(h, 16);
            var sign = w & Vector128.Create(0x80000000u);
            var twoW = w + w;
            var normalized = (Vector128.ShiftRightLogical(twoW, 4) + Vector128.Create(ExpOffset)).AsSingle() * ExpScale;
            var denormalized = (Vector128.ShiftRightLogical(twoW, 17) | Vector128.Create(MagicMask)).AsSingle() - Vector128.Create(MagicBias);
            var isDenormal = Vector128.LessThan(twoW, Vector128.Create(DenormalizedCutoff));
            return (sign | Vector128.ConditionalSelect(isDenormal, denormalized.AsUInt32(), normalized.AsUInt32())).AsSingle();
        }
    }
}
