using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// NVFP4: blocks of 64 as four UE4M3 scale bytes (one per 16 values) and 32 bytes of E2M1 codes; within
/// sub-block s, value j sits in the low nibble of byte 8s+j and value j+8 in its high nibble. ggml's
/// <c>quantize_row_nvfp4_ref</c>, which <c>quantize_nvfp4</c> calls whatever the importance weights.
/// </summary>
internal sealed class NVFP4Codec() : UnweightedCodec<NVFP4Codec>(GgmlType.NVFP4), IUnweightedBlockLoops
{
    internal const int BlockElements = 64;
    internal const int BlockBytes = 36;
    const int SubBlock = 16;

    /// <summary>The sub-block scale: amax/6 maps the largest E2M1 value (6) onto amax, then rounds to UE4M3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte SubBlockScale(float amax) => Fp4.FloatToUe4m3(amax / 6.0f);

    /// <summary>The specification: <c>quantize_row_nvfp4_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<float> grid = stackalloc float[16];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var block = destination.Slice(o, BlockBytes);
            for (var s = 0; s < BlockElements / SubBlock; s++)
            {
                var xb = x.Slice(b + s * SubBlock, SubBlock);
                var amax = 0f;
                foreach (var v in xb)
                {
                    if (amax < MathF.Abs(v))
                    {
                        amax = MathF.Abs(v);
                    }
                }
                var ue = SubBlockScale(amax);
                block[s] = ue;
                Fp4.FillGrid(Fp4.Ue4m3ToFloat(ue), grid);
                for (var j = 0; j < SubBlock / 2; j++)
                {
                    var low = Fp4.BestIndex(xb[j], grid);
                    var high = Fp4.BestIndex(xb[j + SubBlock / 2], grid);
                    block[4 + s * 8 + j] = (byte)(low | (high << 4));
                }
            }
        }
    }

    /// <summary>Eight elements per search, the code comparisons lane-wise in the scalar order.</summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<Vector256<float>> grid = stackalloc Vector256<float>[16];
        var values = Fp4.Values;
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var block = destination.Slice(o, BlockBytes);
            for (var s = 0; s < BlockElements / SubBlock; s++)
            {
                var xb = x.Slice(b + s * SubBlock, SubBlock);
                var v0 = Vector256.Create(xb);
                var v1 = Vector256.Create(xb[8..]);
                var amax = LegacySimd.MaxAcross(Vector256.MaxNative(Vector256.Abs(v0), Vector256.Abs(v1)));
                var ue = SubBlockScale(amax);
                block[s] = ue;
                var d = Fp4.Ue4m3ToFloat(ue);
                for (var i = 0; i < 16; i++)
                {
                    grid[i] = Vector256.Create(values[i] * d);
                }
                var packed = Fp4.BestIndex(v0, grid) | Vector256.ShiftLeft(Fp4.BestIndex(v1, grid), 4);
                var bytes = Vector256.Narrow(Vector256.Narrow(packed, packed), Vector256<short>.Zero);
                bytes.AsByte().GetLower().GetLower().CopyTo(block.Slice(4 + s * 8, 8));
            }
        }
    }

    /// <summary>The specification: <c>dequantize_row_nvfp4</c>.</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var values = Fp4.Values;
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            for (var s = 0; s < BlockElements / SubBlock; s++)
            {
                var d = Fp4.Ue4m3ToFloat(source[o + s]);
                var qs = source.Slice(o + 4 + s * 8, 8);
                var output = destination.Slice(y + s * SubBlock, SubBlock);
                for (var j = 0; j < 8; j++)
                {
                    output[j] = values[qs[j] & 0x0F] * d;
                    output[j + 8] = values[qs[j] >> 4] * d;
                }
            }
        }
    }

    static readonly Vector128<sbyte> Table = Vector128.Create(Fp4.Values);

    /// <summary>Two sub-blocks per 16-byte load: bytes 0..7 belong to sub-block s, 8..15 to s+1.</summary>
    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            for (var s = 0; s < 4; s += 2)
            {
                var bytes = Vector128.Create(source.Slice(o + 4 + s * 8, 16));
                var low = NibbleTable.Lookup(Table, bytes & Vector128.Create((byte)0x0F));
                var high = NibbleTable.Lookup(Table, Vector128.ShiftRightLogical(bytes, 4));
                var (low0, low1) = NibbleTable.Widen(low);
                var (high0, high1) = NibbleTable.Widen(high);
                var d0 = Vector256.Create(Fp4.Ue4m3ToFloat(source[o + s]));
                var d1 = Vector256.Create(Fp4.Ue4m3ToFloat(source[o + s + 1]));
                var output = destination.Slice(y + s * SubBlock, 2 * SubBlock);
                (low0 * d0).CopyTo(output);
                (high0 * d0).CopyTo(output[8..]);
                (low1 * d1).CopyTo(output[16..]);
                (high1 * d1).CopyTo(output[24..]);
            }
        }
    }
}
