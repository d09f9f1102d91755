using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// TQ1_0 (ternary, 1.6875 bits per value): 256 values as qs[48], qh[4], then an fp16 scale (amax). Five trits
/// make a base-3 number (first trit most significant) stored as the byte ⌈n·256/243⌉, so the decoder reads
/// trit k as the top "digit" of byte·3^k. qs[m] (m &lt; 32) holds values m + 32n, qs[32+m] (m &lt; 16) values
/// 160 + m + 16n, and qh[j] four trits 240 + j + 4n padded with a zero trit. ggml's
/// <c>quantize_row_tq1_0_ref</c>; ggml ignores importance weights for this type.
/// </summary>
internal sealed class TQ1_0Codec() : UnweightedCodec<TQ1_0Codec>(GgmlType.TQ1_0), IUnweightedBlockLoops
{
    internal const int BlockElements = Ternary.BlockElements;
    internal const int BlockBytes = 54;
    const int QhOffset = 48;
    const int ScaleOffset = 52;

    /// <summary>ceil(n·256/243) for n &lt; 243: a base-3 fraction spread over the byte range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte Spread(int n) => (byte)((n * 256 + 242) / 243);

    /// <summary>The specification: <c>quantize_row_tq1_0_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> xb, Span<byte> block)
    {
        var d = Ternary.AbsMax(xb);
        var id = d != 0 ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block[ScaleOffset..], Fp16.FromFloat(d));
        // ggml accumulates in a uint8_t; with trits in 0..2 the number stays below 243 and never wraps.
        for (var m = 0; m < 32; m++)
        {
            var q = 0;
            for (var n = 0; n < 5; n++)
            {
                q = q * 3 + Ternary.Trit(xb[m + 32 * n] * id);
            }
            block[m] = Spread(q);
        }
        for (var m = 0; m < 16; m++)
        {
            var q = 0;
            for (var n = 0; n < 5; n++)
            {
                q = q * 3 + Ternary.Trit(xb[160 + m + 16 * n] * id);
            }
            block[32 + m] = Spread(q);
        }
        for (var j = 0; j < 4; j++)
        {
            var q = 0;
            for (var m = 0; m < 4; m++)
            {
                q = q * 3 + Ternary.Trit(xb[240 + j + 4 * m] * id);
            }
            block[QhOffset + j] = Spread(q * 3);
        }
    }

    /// <summary>
    /// Eight bytes per step from five contiguous loads. The byte ⌈n·256/243⌉ comes from a float division: n·256+242
    /// is exact, and a quotient that is not an integer is at least 1/243 away from one, far beyond the rounding
    /// error, so truncating the float quotient gives the integer quotient.
    /// </summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var d = Ternary.AbsMax256(xb);
            var id = d != 0 ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            var idv = Vector256.Create(id);
            BinaryPrimitives.WriteUInt16LittleEndian(block[ScaleOffset..], Fp16.FromFloat(d));
            var s0 = Spread(Base3(xb, 0, 32, idv));
            var s1 = Spread(Base3(xb, 8, 32, idv));
            var s2 = Spread(Base3(xb, 16, 32, idv));
            var s3 = Spread(Base3(xb, 24, 32, idv));
            Vector256.Narrow(Vector256.Narrow(s0, s1), Vector256.Narrow(s2, s3)).AsByte().CopyTo(block);
            var t0 = Spread(Base3(xb, 160, 16, idv));
            var t1 = Spread(Base3(xb, 168, 16, idv));
            Vector256.Narrow(Vector256.Narrow(t0, t1), Vector256<short>.Zero).AsByte().GetLower().CopyTo(block[32..]);
            for (var j = 0; j < 4; j++)
            {
                var q = 0;
                for (var m = 0; m < 4; m++)
                {
                    q = q * 3 + Ternary.Trit(xb[240 + j + 4 * m] * id);
                }
                block[QhOffset + j] = Spread(q * 3);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Base3(ReadOnlySpan<float> xb, int start, int stride, Vector256<float> id)
    {
        var three = Vector256.Create(3);
        var q = Ternary.Trits(xb[start..], id);
        for (var n = 1; n < 5; n++)
        {
            q = q * three + Ternary.Trits(xb[(start + stride * n)..], id);
        }
        return q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Spread(Vector256<int> n) =>
        Vector256.ConvertToInt32(Vector256.ConvertToSingle(n * 256 + Vector256.Create(242)) / 243f);

    /// <summary>Trit k of a stored byte: the byte times 3^k wrapped to 8 bits, times 3, top byte of 16 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int TritOf(byte stored, int power3) => ((byte)(stored * power3) * 3) >> 8;

    /// <summary>The specification: <c>dequantize_row_tq1_0</c>, <c>(float)(trit − 1)·d</c>.</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> pow3 = [1, 3, 9, 27, 81];
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var block = source.Slice(o, BlockBytes);
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[ScaleOffset..]));
            var output = destination.Slice(y, BlockElements);
            var i = 0;
            for (var n = 0; n < 5; n++)
            {
                for (var m = 0; m < 32; m++)
                {
                    output[i++] = (TritOf(block[m], pow3[n]) - 1) * d;
                }
            }
            for (var n = 0; n < 5; n++)
            {
                for (var m = 0; m < 16; m++)
                {
                    output[i++] = (TritOf(block[32 + m], pow3[n]) - 1) * d;
                }
            }
            for (var n = 0; n < 4; n++)
            {
                for (var j = 0; j < 4; j++)
                {
                    output[i++] = (TritOf(block[QhOffset + j], pow3[n]) - 1) * d;
                }
            }
        }
    }

    /// <summary>Sixteen bytes per step in 16-bit lanes; the scalar qh tail is 16 values.</summary>
    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        ReadOnlySpan<byte> pow3 = [1, 3, 9, 27, 81];
        var lowByte = Vector256.Create((ushort)0xFF);
        var three = Vector256.Create((ushort)3);
        var one = Vector256.Create(1);
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var block = source.Slice(o, BlockBytes);
            var dScalar = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[ScaleOffset..]));
            var d = Vector256.Create(dScalar);
            var output = destination.Slice(y, BlockElements);
            for (var g = 0; g < 3; g++)
            {
                // Groups: bytes 0..15 and 16..31 (stride 32 between trits), bytes 32..47 (stride 16, after 160).
                var bytes = Vector256.WidenLower(Vector128.Create(block.Slice(16 * g, 16)).ToVector256Unsafe());
                var (stride, start) = g < 2 ? (32, 16 * g) : (16, 160);
                for (var n = 0; n < 5; n++)
                {
                    var wrapped = (bytes * Vector256.Create((ushort)pow3[n])) & lowByte;
                    var trit = Vector256.ShiftRightLogical(wrapped * three, 8);
                    var (lower, upper) = Vector256.Widen(trit);
                    var at = output[(start + stride * n)..];
                    (Vector256.ConvertToSingle(lower.AsInt32() - one) * d).CopyTo(at);
                    (Vector256.ConvertToSingle(upper.AsInt32() - one) * d).CopyTo(at[8..]);
                }
            }
            var tail = output[240..];
            for (var n = 0; n < 4; n++)
            {
                for (var j = 0; j < 4; j++)
                {
                    tail[4 * n + j] = (TritOf(block[QhOffset + j], pow3[n]) - 1) * dScalar;
                }
            }
        }
    }
}
