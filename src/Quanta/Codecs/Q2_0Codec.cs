using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q2_0: blocks of 64 as an fp16 scale (amax) and 16 bytes of 2-bit codes (value j in bits 2(j%4) of byte
/// j/4), decoded as <c>(q − 1)·d</c> for q in 0..3. ggml's <c>quantize_row_q2_0_ref</c>; <c>quantize_q2_0</c>
/// calls it row by row when importance weights are given and never reads them, so neither does this codec.
/// </summary>
internal sealed class Q2_0Codec() : UnweightedCodec<Q2_0Codec>(GgmlType.Q2_0), IUnweightedBlockLoops
{
    internal const int BlockElements = 64;
    internal const int BlockBytes = 18;

    /// <summary>The specification: <c>quantize_row_q2_0_ref</c> block by block.</summary>
    public static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            EncodeBlock(x.Slice(b, BlockElements), destination.Slice(o, BlockBytes));
        }
    }

    static void EncodeBlock(ReadOnlySpan<float> xb, Span<byte> block)
    {
        var amax = 0f;
        foreach (var v in xb)
        {
            if (MathF.Abs(v) > amax)
            {
                amax = MathF.Abs(v);
            }
        }
        var d = amax;
        var id = d > 0f ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var qs = block[2..];
        qs.Clear();
        for (var j = 0; j < BlockElements; j++)
        {
            // (int)roundf(...): half away from zero, then C's truncating conversion, which turns the ±inf a
            // subnormal amax produces into INT_MIN (so code 0) exactly as x86-64 does.
            var q = GgmlMath.TruncateToInt32(MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero)) + 1;
            q = Math.Clamp(q, 0, 3);
            qs[j / 4] |= (byte)(q << (j % 4 * 2));
        }
    }

    /// <summary>
    /// Whole blocks at once. With a finite 1/amax every |x·id| is at most 1 + 2⁻²³, so roundf picks −1, 0 or 1
    /// by comparing with ±0.5, and the clamp never bites; blocks whose 1/amax overflows go to the scalar code.
    /// </summary>
    public static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination)
    {
        Span<byte> codes = stackalloc byte[BlockElements];
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, BlockBytes);
            var max = Vector256<float>.Zero;
            for (var k = 0; k < BlockElements; k += 8)
            {
                max = Vector256.MaxNative(max, Vector256.Abs(Vector256.Create(xb[k..])));
            }
            var d = LegacySimd.MaxAcross(max);
            var id = d > 0f ? 1f / d : 0f;
            if (!float.IsFinite(id))
            {
                EncodeBlock(xb, block);
                continue;
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            for (var k = 0; k < BlockElements; k += 32)
            {
                var narrow = Vector256.Narrow(
                    Vector256.Narrow(Code(xb[k..], id), Code(xb[(k + 8)..], id)),
                    Vector256.Narrow(Code(xb[(k + 16)..], id), Code(xb[(k + 24)..], id)));
                narrow.AsByte().CopyTo(codes[k..]);
            }
            PackCodes(codes, block[2..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Code(ReadOnlySpan<float> x, float id)
    {
        var v = Vector256.Create(x) * id;
        // 1 + (v ≥ 0.5) − (v ≤ −0.5); a true compare is all ones, i.e. −1.
        return Vector256.Create(1) - Vector256.GreaterThanOrEqual(v, Vector256.Create(0.5f)).AsInt32()
            + Vector256.LessThanOrEqual(v, Vector256.Create(-0.5f)).AsInt32();
    }

    /// <summary>
    /// Four codes (one per byte of a little-endian word) into one byte, q0 | q1≪2 | q2≪4 | q3≪6: the first
    /// fold brings q1 next to q0 and q3 next to q2, the second brings that pair down.
    /// </summary>
    static void PackCodes(ReadOnlySpan<byte> codes, Span<byte> qs)
    {
        for (var k = 0; k < codes.Length; k += 32)
        {
            var u = Vector256.Create(codes[k..]).AsUInt32();
            var t = u | Vector256.ShiftRightLogical(u, 6);
            t |= Vector256.ShiftRightLogical(t, 12);
            var bytes = Vector256.Narrow(Vector256.Narrow(t, t), Vector256<ushort>.Zero);
            bytes.GetLower().GetLower().CopyTo(qs[(k / 4)..]);
        }
    }

    /// <summary>The specification: <c>dequantize_row_q2_0</c>.</summary>
    public static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < BlockElements; j++)
            {
                output[j] = (((qs[j / 4] >> (j % 4 * 2)) & 3) - 1) * d;
            }
        }
    }

    /// <summary>q − 1 for the four codes of every byte value, as floats (exact).</summary>
    static readonly Vector128<float>[] Levels = BuildLevels();

    static Vector128<float>[] BuildLevels()
    {
        var table = new Vector128<float>[256];
        for (var b = 0; b < 256; b++)
        {
            table[b] = Vector128.Create((b & 3) - 1f, ((b >> 2) & 3) - 1f, ((b >> 4) & 3) - 1f, ((b >> 6) & 3) - 1f);
        }
        return table;
    }

    /// <summary>The table decode needs only 128-bit vectors.</summary>
    public static bool DecodeVectorAccelerated => Vector128.IsHardwareAccelerated;

    /// <summary>One table load and one multiply per byte: the same single rounding as the scalar code.</summary>
    public static void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var levels = Levels;
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Vector128.Create(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..])));
            var output = destination.Slice(y, BlockElements);
            for (var k = 0; k < 16; k++)
            {
                (levels[source[o + 2 + k]] * d).CopyTo(output[(4 * k)..]);
            }
        }
    }
}
