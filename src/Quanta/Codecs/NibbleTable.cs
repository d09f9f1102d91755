using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Codecs;

/// <summary>
/// Decoding for the formats whose 4-bit codes index a 16-entry table of small integers (IQ4_NL, IQ4_XS,
/// MXFP4, NVFP4): 16 bytes hold 32 codes, value j in the low nibble of byte j and value j+16 in the high
/// nibble. Each output is <c>(float)table[code] · d</c>, one exact conversion and one rounding, as in ggml.
/// </summary>
internal static class NibbleTable
{
    /// <summary>Decodes 32 codes from <paramref name="qs"/> (16 bytes) into <paramref name="y"/> (32 floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode16(ReadOnlySpan<byte> qs, Vector128<sbyte> table, float d, Span<float> y)
    {
        var bytes = Vector128.Create(qs);
        var low = Lookup(table, bytes & Vector128.Create((byte)0x0F));
        var high = Lookup(table, Vector128.ShiftRightLogical(bytes, 4));
        var scale = Vector256.Create(d);
        Store(low, scale, y);
        Store(high, scale, y[16..]);
    }

    /// <summary>table[code] for sixteen codes 0..15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Lookup(Vector128<sbyte> table, Vector128<byte> codes) =>
        Ssse3.IsSupported ? Ssse3.Shuffle(table, codes.AsSByte()) : Vector128.Shuffle(table, codes.AsSByte());

    /// <summary>Sixteen small integers as two vectors of floats (exact), lanes 0..7 and 8..15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Lower, Vector256<float> Upper) Widen(Vector128<sbyte> values)
    {
        var (lower, upper) = Vector256.Widen(Vector256.WidenLower(values.ToVector256Unsafe()));
        return (Vector256.ConvertToSingle(lower), Vector256.ConvertToSingle(upper));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Vector128<sbyte> values, Vector256<float> scale, Span<float> y)
    {
        var (lower, upper) = Widen(values);
        (lower * scale).CopyTo(y);
        (upper * scale).CopyTo(y[8..]);
    }
}
