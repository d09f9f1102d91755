using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Conversion.Gptq;

/// <summary>How the 4-bit codes and zeros of a linear layer are packed into int32 words.</summary>
public enum PackedInt4Format
{
    /// <summary>AutoGPTQ / GPTQModel <c>checkpoint_format: "gptq"</c>: codes packed along the input dim, zeros stored minus one.</summary>
    GptqV1,

    /// <summary>GPTQModel <c>"gptq_v2"</c>: as v1, zeros stored as they are.</summary>
    GptqV2,

    /// <summary>AutoAWQ <c>WQLinear_GEMM</c> (<c>version: "gemm"</c>): codes and zeros packed along the output dim, in the order 0, 2, 4, 6, 1, 3, 5, 7.</summary>
    AwqGemm,
}

/// <summary>
/// A 4-bit GPTQ or AWQ linear layer (<c>qweight</c>, <c>qzeros</c>, fp16 <c>scales</c>, GPTQ's <c>g_idx</c>), unpacked
/// on demand to float32 rows in nn.Linear layout (a row per output channel, <c>in_features</c> long: GGUF's ne0) as
/// <c>W[o, i] = (q[i, o] − z[g, o]) · s[g, o]</c>, computed in float32 from the fp16 scale. With 4-bit codes and an
/// 11-bit scale the product has at most 15 significant bits, so it is exact: the result does not depend on
/// whether the reference ran this in fp16 or fp32, except where fp16 itself would round.
/// When groups are whole Q4 blocks and contiguous, the layer maps onto Q4_0 (zero 8) or Q4_1 without any loss.
/// </summary>
public sealed class PackedInt4Linear
{
    // AWQ packs column col*8 + [0, 2, 4, 6, 1, 3, 5, 7][slot] into nibble slot; this is the slot of each column.
    static readonly int[] AwqSlotOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];

    readonly int[] _qweight;
    readonly int[] _qzeros;
    readonly ushort[] _scales;
    readonly int[] _groupOfInput;

    PackedInt4Linear(PackedInt4Format format, int inFeatures, int outFeatures, int groupSize, int[] qweight, int[] qzeros, ushort[] scales, int[] groupOfInput)
    {
        Format = format;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        GroupSize = groupSize;
        _qweight = qweight;
        _qzeros = qzeros;
        _scales = scales;
        _groupOfInput = groupOfInput;
        Groups = scales.Length / outFeatures;
    }

    public PackedInt4Format Format { get; }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>Inputs per quantization group (<c>in_features</c> when the config says −1).</summary>
    public int GroupSize { get; }

    public int Groups { get; }

    /// <summary>True when <c>g_idx</c> is not <c>i / group_size</c> (act-order / desc_act).</summary>
    public bool ActOrder
    {
        get
        {
            for (var i = 0; i < InFeatures; i++)
            {
                if (_groupOfInput[i] != i / GroupSize)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>
    /// A GPTQ layer: <paramref name="qweight"/> [in/8, out], <paramref name="qzeros"/> [groups, out/8], <paramref name="scales"/>
    /// (fp16 bits) [groups, out], <paramref name="gIdx"/> [in] or null for <c>i / group_size</c>.
    /// </summary>
    public static PackedInt4Linear Gptq(int[] qweight, int[] qzeros, ushort[] scales, int[]? gIdx, int inFeatures, int outFeatures, int groupSize, bool v2 = false)
    {
        groupSize = groupSize <= 0 ? inFeatures : groupSize;
        var groups = Check(inFeatures, outFeatures, groupSize, scales, qzeros);
        Expect(qweight.Length, (long)inFeatures / 8 * outFeatures, "qweight", $"[{inFeatures / 8}, {outFeatures}]");
        if (inFeatures % 8 != 0)
        {
            throw new ArgumentException($"in_features {inFeatures} is not a multiple of 8 (GPTQ packs 8 codes per int32 along the input)");
        }
        var groupOf = new int[inFeatures];
        for (var i = 0; i < inFeatures; i++)
        {
            var g = gIdx is null ? i / groupSize : gIdx[i];
            if ((uint)g >= (uint)groups)
            {
                throw new ArgumentException($"g_idx[{i}] = {g} is outside 0..{groups - 1}");
            }
            groupOf[i] = g;
        }
        if (gIdx is not null && gIdx.Length != inFeatures)
        {
            throw new ArgumentException($"g_idx has {gIdx.Length} entries, expected {inFeatures}");
        }
        return new PackedInt4Linear(v2 ? PackedInt4Format.GptqV2 : PackedInt4Format.GptqV1, inFeatures, outFeatures, groupSize, qweight, qzeros, scales, groupOf);
    }

    /// <summary>An AWQ GEMM layer: <paramref name="qweight"/> [in, out/8], <paramref name="qzeros"/> [groups, out/8], <paramref name="scales"/> (fp16 bits) [groups, out].</summary>
    public static PackedInt4Linear Awq(int[] qweight, int[] qzeros, ushort[] scales, int inFeatures, int outFeatures, int groupSize)
    {
        groupSize = groupSize <= 0 ? inFeatures : groupSize;
        Check(inFeatures, outFeatures, groupSize, scales, qzeros);
        Expect(qweight.Length, (long)inFeatures * (outFeatures / 8), "qweight", $"[{inFeatures}, {outFeatures / 8}]");
        var groupOf = new int[inFeatures];
        for (var i = 0; i < inFeatures; i++)
        {
            groupOf[i] = i / groupSize;
        }
        return new PackedInt4Linear(PackedInt4Format.AwqGemm, inFeatures, outFeatures, groupSize, qweight, qzeros, scales, groupOf);
    }

    static int Check(int inFeatures, int outFeatures, int groupSize, ushort[] scales, int[] qzeros)
    {
        if (inFeatures <= 0 || outFeatures <= 0 || outFeatures % 8 != 0)
        {
            throw new ArgumentException($"layer {inFeatures} → {outFeatures}: out_features must be a positive multiple of 8");
        }
        var groups = (inFeatures + groupSize - 1) / groupSize;
        Expect(scales.Length, (long)groups * outFeatures, "scales", $"[{groups}, {outFeatures}]");
        Expect(qzeros.Length, (long)groups * (outFeatures / 8), "qzeros", $"[{groups}, {outFeatures / 8}]");
        return groups;
    }

    static void Expect(long actual, long expected, string what, string shape)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{what} has {actual} elements; expected {shape}");
        }
    }

    /// <summary>The 4-bit code of input <paramref name="i"/>, output <paramref name="o"/>.</summary>
    public int Code(int i, int o) => Format == PackedInt4Format.AwqGemm
        ? (_qweight[(i * (OutFeatures / 8)) + (o / 8)] >>> (4 * AwqSlotOfColumn[o % 8])) & 15
        : (_qweight[((i / 8) * OutFeatures) + o] >>> (4 * (i % 8))) & 15;

    /// <summary>The zero point of group <paramref name="g"/>, output <paramref name="o"/>, after the v1 +1.</summary>
    public int Zero(int g, int o)
    {
        var word = _qzeros[(g * (OutFeatures / 8)) + (o / 8)];
        return Format switch
        {
            PackedInt4Format.AwqGemm => (word >>> (4 * AwqSlotOfColumn[o % 8])) & 15,
            PackedInt4Format.GptqV1 => ((word >>> (4 * (o % 8))) & 15) + 1,
            _ => (word >>> (4 * (o % 8))) & 15,
        };
    }

    /// <summary>The fp16 bits of the scale of group <paramref name="g"/>, output <paramref name="o"/>.</summary>
    public ushort ScaleBits(int g, int o) => _scales[(g * OutFeatures) + o];

    /// <summary>The group of input <paramref name="i"/>.</summary>
    public int Group(int i) => _groupOfInput[i];

    /// <summary>Output rows (<paramref name="count"/> × in_features floats) from <paramref name="firstRow"/>.</summary>
    public void Dequantize(int firstRow, int count, Span<float> destination)
    {
        for (var r = 0; r < count; r++)
        {
            var o = firstRow + r;
            var row = destination.Slice(r * InFeatures, InFeatures);
            for (var i = 0; i < InFeatures; i++)
            {
                var g = _groupOfInput[i];
                row[i] = (float)(Code(i, o) - Zero(g, o)) * Fp16.ToFloat(ScaleBits(g, o));
            }
        }
    }

    /// <summary>
    /// Whether the layer maps onto <paramref name="type"/> (Q4_0 or Q4_1) with every decoded value bit-identical to
    /// <see cref="Dequantize"/>; when not, <paramref name="reason"/> says why (the caller requantizes from float32).
    /// Q4_0 needs every zero to be 8 (symmetric); Q4_1 needs <c>m = −z·s</c> to be an fp16 value.
    /// </summary>
    public bool CanMapLossless(GgmlType type, out string? reason)
    {
        reason = null;
        if (type is not (GgmlType.Q4_0 or GgmlType.Q4_1))
        {
            reason = $"no direct mapping to {type}; only Q4_0 and Q4_1";
        }
        else if (InFeatures % 32 != 0 || GroupSize % 32 != 0)
        {
            reason = $"group size {GroupSize} (in_features {InFeatures}) is not a multiple of 32";
        }
        else if (ActOrder)
        {
            reason = "act-order: g_idx is not i / group_size, so a 32-block can span groups";
        }
        if (reason is not null)
        {
            return false;
        }
        for (var g = 0; g < Groups; g++)
        {
            for (var o = 0; o < OutFeatures; o++)
            {
                var z = Zero(g, o);
                var bits = ScaleBits(g, o);
                if (type == GgmlType.Q4_0 ? z != 8 : !Q4_1Exact(z, bits))
                {
                    reason = type == GgmlType.Q4_0
                        ? $"asymmetric: zero {z} at group {g}, output {o} (Q4_0 needs 8); Q4_1 may fit"
                        : $"m = -{z}·{Fp16.ToFloat(bits):R} at group {g}, output {o} is not exactly an fp16 value";
                    return false;
                }
            }
        }
        return true;
    }

    // Q4_1 decodes q·d + m in float32. With d = s and m = −z·s exact in fp16, q·d and m are exact in float32 and so
    // is their sum (q − z)·s; checked for every code rather than argued, so signs of zero and odd scales are covered.
    static bool Q4_1Exact(int z, ushort scaleBits)
    {
        var s = Fp16.ToFloat(scaleBits);
        var m = -z * s;
        var mBits = Fp16.FromFloat(m);
        var md = Fp16.ToFloat(mBits);
        for (var q = 0; q < 16; q++)
        {
            if (BitConverter.SingleToUInt32Bits((q * s) + md) != BitConverter.SingleToUInt32Bits((float)(q - z) * s))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Writes output rows as Q4_0 (18 bytes per 32 inputs) or Q4_1 (20 bytes): d = the group's scale, m = −z·s, the
    /// codes as nibbles (input j of a block in the low nibble of byte j, input j+16 in its high nibble). Check
    /// <see cref="CanMapLossless"/> first.
    /// </summary>
    public void Encode(GgmlType type, int firstRow, int count, Span<byte> destination)
    {
        var affine = type == GgmlType.Q4_1;
        var blockBytes = affine ? 20 : 18;
        var quantsAt = affine ? 4 : 2;
        var rowBytes = InFeatures / 32 * blockBytes;
        for (var r = 0; r < count; r++)
        {
            var o = firstRow + r;
            var row = destination.Slice(r * rowBytes, rowBytes);
            for (var b = 0; b < InFeatures / 32; b++)
            {
                var block = row.Slice(b * blockBytes, blockBytes);
                var first = b * 32;
                var g = _groupOfInput[first];
                var bits = ScaleBits(g, o);
                BinaryPrimitives.WriteUInt16LittleEndian(block, bits);
                if (affine)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(-Zero(g, o) * Fp16.ToFloat(bits)));
                }
                for (var j = 0; j < 16; j++)
                {
                    block[quantsAt + j] = (byte)(Code(first + j, o) | (Code(first + j + 16, o) << 4));
                }
            }
        }
    }
}
