using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// MXFP4 (OCP microscaling FP4): blocks of 32 as one E8M0 exponent byte and 16 bytes of E2M1 codes (value j in
/// the low nibble of byte j, value j+16 in the high nibble). ggml's <c>quantize_row_mxfp4_ref</c>, which
/// <c>quantize_mxfp4</c> calls whatever the importance weights, so they are ignored here too.
/// </summary>
internal sealed class MXFP4Codec() : UnweightedCodec<MXFP4Codec>(GgmlType.MXFP4), IUnweightedBlockLoops
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 17;

    /// <summary>
    /// The shared exponent: <c>(uint8_t)(floorf(log2f(amax)) − 2 + 127)</c>, so the largest code (6, doubled 12)
    /// covers amax. ggml calls libm's <c>log2f</c>, and .NET's MathF.Log2 calls the platform C library too, so
    /// values a few ulps below a power of two, where log2f may round up to the integer, land where ggml's do.
    /// The cast goes through a 32-bit truncation, as x86-64 compiles it, and keeps the low byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte SharedExponent(float amax) =>
        amax > 0f ? unchecked((byte)GgmlMath.TruncateToInt32(MathF.Floor(MathF.Log2(amax)) - 2 + 127)) : (byte)0;

    /// <summary>The specification: <c>quantize_row_mxfp4_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<float> grid = stackalloc float[16];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var amax = 0f;
            foreach (var v in xb)
            {
                if (amax < MathF.Abs(v))
                {
                    amax = MathF.Abs(v);
                }
            }
            var e = SharedExponent(amax);
            block[0] = e;
            Fp4.FillGrid(Fp4.E8M0ToFloatHalf(e), grid);
            for (var j = 0; j < BlockElements / 2; j++)
            {
                var low = Fp4.BestIndex(xb[j], grid);
                var high = Fp4.BestIndex(xb[j + 16], grid);
                block[1 + j] = (byte)(low | (high << 4));
            }
        }
    }

    /// <summary>Eight elements per search: the 16 code comparisons run lane-wise, in the scalar order.</summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector256<float>> grid = stackalloc Vector256<float>[16];
        var values = Fp4.Values;
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var (v0, v1, v2, v3) = LegacySimd.Load256(xb);
            // Max is exact in any order for finite values, and |x| ≥ 0 makes the scalar's strict test the same.
            var amax = LegacySimd.MaxAcross(Vector256.MaxNative(
                Vector256.MaxNative(Vector256.Abs(v0), Vector256.Abs(v1)),
                Vector256.MaxNative(Vector256.Abs(v2), Vector256.Abs(v3))));
            var e = SharedExponent(amax);
            block[0] = e;
            var d = Fp4.E8M0ToFloatHalf(e);
            for (var i = 0; i < 16; i++)
            {
                grid[i] = Vector256.Create(values[i] * d);
            }
            _ = LegacySimd.PackNibbles(Fp4.BestIndex(v0, grid), Fp4.BestIndex(v1, grid),
                Fp4.BestIndex(v2, grid), Fp4.BestIndex(v3, grid), block[1..]);
        }
    }

    /// <summary>The specification: <c>dequantize_row_mxfp4</c>, code value times the halved scale.</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var values = Fp4.Values;
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp4.E8M0ToFloatHalf(source[o]);
            var qs = source.Slice(o + 1, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                output[j] = values[qs[j] & 0x0F] * d;
                output[j + 16] = values[qs[j] >> 4] * d;
            }
        }
    }

    static readonly Vector128<sbyte> Table = Vector128.Create(Fp4.Values);

    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp4.E8M0ToFloatHalf(source[o]);
            NibbleTable.Decode16(source.Slice(o + 1, 16), Table, d, destination.Slice(y, BlockElements));
        }
    }
}
