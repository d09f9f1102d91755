using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Safetensors;

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
/// A layer read from a checkpoint (<see cref="Mapped"/>) is a view of the memory-mapped safetensors: it copies
/// nothing, and each call reads only the words the rows it is asked for need, so converting a model holds no
/// layer in memory.
/// </summary>
public sealed class PackedInt4Linear
{
    // AWQ packs column col*8 + [0, 2, 4, 6, 1, 3, 5, 7][slot] into nibble slot; this is the slot of each column.
    static readonly int[] AwqSlotOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];

    readonly Words _qweight;
    readonly Words _qzeros;
    readonly Words _scales;

    /// <summary><c>g_idx</c>; default (none) when every input's group is <c>i / group_size</c>.</summary>
    readonly Words _gIdx;

    PackedInt4Linear(PackedInt4Format format, int inFeatures, int outFeatures, int groupSize, int groups, Words qweight, Words qzeros, Words scales, Words gIdx)
    {
        Format = format;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        GroupSize = groupSize;
        Groups = groups;
        _qweight = qweight;
        _qzeros = qzeros;
        _scales = scales;
        _gIdx = gIdx;
    }

    public PackedInt4Format Format { get; }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>Inputs per quantization group (<c>in_features</c> when the config says −1).</summary>
    public int GroupSize { get; }

    public int Groups { get; }

    /// <summary>Bytes of packed data the layer holds on the managed heap: 0 for a view of a checkpoint's mapping.</summary>
    public long HeldBytes => _qweight.HeldBytes + _qzeros.HeldBytes + _scales.HeldBytes + _gIdx.HeldBytes;

    /// <summary>True when <c>g_idx</c> is not <c>i / group_size</c> (act-order / desc_act).</summary>
    public bool ActOrder
    {
        get
        {
            if (_gIdx.IsEmpty)
            {
                return false;
            }
            var gIdx = _gIdx.Ints;
            for (var i = 0; i < InFeatures; i++)
            {
                if (gIdx[i] != i / GroupSize)
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
        ArgumentNullException.ThrowIfNull(qweight);
        ArgumentNullException.ThrowIfNull(qzeros);
        ArgumentNullException.ThrowIfNull(scales);
        return Gptq(new Words(qweight), new Words(qzeros), new Words(scales), gIdx is null ? default : new Words(gIdx), inFeatures, outFeatures, groupSize, v2);
    }

    /// <summary>An AWQ GEMM layer: <paramref name="qweight"/> [in, out/8], <paramref name="qzeros"/> [groups, out/8], <paramref name="scales"/> (fp16 bits) [groups, out].</summary>
    public static PackedInt4Linear Awq(int[] qweight, int[] qzeros, ushort[] scales, int inFeatures, int outFeatures, int groupSize)
    {
        ArgumentNullException.ThrowIfNull(qweight);
        ArgumentNullException.ThrowIfNull(qzeros);
        ArgumentNullException.ThrowIfNull(scales);
        return Awq(new Words(qweight), new Words(qzeros), new Words(scales), inFeatures, outFeatures, groupSize);
    }

    /// <summary>
    /// A view of a layer's tensors in a checkpoint (I32 <paramref name="qweight"/>, <paramref name="qzeros"/> and
    /// <paramref name="gIdx"/>, F16 <paramref name="scales"/>, laid out as <see cref="Gptq(int[], int[], ushort[], int[], int, int, int, bool)"/>
    /// or <see cref="Awq(int[], int[], ushort[], int, int, int)"/> say), read through the memory mapping on every
    /// call: valid while the checkpoint is open. <paramref name="gIdx"/> is ignored for AWQ.
    /// </summary>
    public static PackedInt4Linear Mapped(PackedInt4Format format, SafetensorsTensor qweight, SafetensorsTensor qzeros, SafetensorsTensor scales, SafetensorsTensor? gIdx,
        int inFeatures, int outFeatures, int groupSize)
    {
        ArgumentNullException.ThrowIfNull(qweight);
        ArgumentNullException.ThrowIfNull(qzeros);
        ArgumentNullException.ThrowIfNull(scales);
        return format == PackedInt4Format.AwqGemm
            ? Awq(new Words(qweight, 4), new Words(qzeros, 4), new Words(scales, 2), inFeatures, outFeatures, groupSize)
            : Gptq(new Words(qweight, 4), new Words(qzeros, 4), new Words(scales, 2), gIdx is null ? default : new Words(gIdx, 4),
                inFeatures, outFeatures, groupSize, format == PackedInt4Format.GptqV2);
    }

    static PackedInt4Linear Gptq(Words qweight, Words qzeros, Words scales, Words gIdx, int inFeatures, int outFeatures, int groupSize, bool v2)
    {
        groupSize = groupSize <= 0 ? inFeatures : groupSize;
        var groups = Check(inFeatures, outFeatures, groupSize, scales, qzeros);
        Expect(qweight.Length, (long)inFeatures / 8 * outFeatures, "qweight", $"[{inFeatures / 8}, {outFeatures}]");
        if (inFeatures % 8 != 0)
        {
            throw new ArgumentException($"in_features {inFeatures} is not a multiple of 8 (GPTQ packs 8 codes per int32 along the input)");
        }
        if (!gIdx.IsEmpty)
        {
            var groupOf = gIdx.Ints;
            for (var i = 0; i < Math.Min(inFeatures, groupOf.Length); i++)
            {
                if ((uint)groupOf[i] >= (uint)groups)
                {
                    throw new ArgumentException($"g_idx[{i}] = {groupOf[i]} is outside 0..{groups - 1}");
                }
            }
            if (groupOf.Length != inFeatures)
            {
                throw new ArgumentException($"g_idx has {groupOf.Length} entries, expected {inFeatures}");
            }
        }
        return new PackedInt4Linear(v2 ? PackedInt4Format.GptqV2 : PackedInt4Format.GptqV1, inFeatures, outFeatures, groupSize, groups, qweight, qzeros, scales, gIdx);
    }

    static PackedInt4Linear Awq(Words qweight, Words qzeros, Words scales, int inFeatures, int outFeatures, int groupSize)
    {
        groupSize = groupSize <= 0 ? inFeatures : groupSize;
        var groups = Check(inFeatures, outFeatures, groupSize, scales, qzeros);
        Expect(qweight.Length, (long)inFeatures * (outFeatures / 8), "qweight", $"[{inFeatures}, {outFeatures / 8}]");
        return new PackedInt4Linear(PackedInt4Format.AwqGemm, inFeatures, outFeatures, groupSize, groups, qweight, qzeros, scales, default);
    }

    static int Check(int inFeatures, int outFeatures, int groupSize, Words scales, Words qzeros)
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
    public int Code(int i, int o) => Code(_qweight.Ints, i, o);

    int Code(ReadOnlySpan<int> qweight, int i, int o) => Format == PackedInt4Format.AwqGemm
        ? (qweight[(i * (OutFeatures / 8)) + (o / 8)] >>> (4 * AwqSlotOfColumn[o % 8])) & 15
        : (qweight[((i / 8) * OutFeatures) + o] >>> (4 * (i % 8))) & 15;

    /// <summary>The zero point of group <paramref name="g"/>, output <paramref name="o"/>, after the v1 +1.</summary>
    public int Zero(int g, int o) => Zero(_qzeros.Ints, g, o);

    int Zero(ReadOnlySpan<int> qzeros, int g, int o)
    {
        var word = qzeros[(g * (OutFeatures / 8)) + (o / 8)];
        return Format switch
        {
            PackedInt4Format.AwqGemm => (word >>> (4 * AwqSlotOfColumn[o % 8])) & 15,
            PackedInt4Format.GptqV1 => ((word >>> (4 * (o % 8))) & 15) + 1,
            _ => (word >>> (4 * (o % 8))) & 15,
        };
    }

    /// <summary>The fp16 bits of the scale of group <paramref name="g"/>, output <paramref name="o"/>.</summary>
    public ushort ScaleBits(int g, int o) => _scales.Halves[(g * OutFeatures) + o];

    /// <summary>The group of input <paramref name="i"/>.</summary>
    public int Group(int i) => _gIdx.IsEmpty ? i / GroupSize : _gIdx.Ints[i];

    /// <summary>Output rows (<paramref name="count"/> × in_features floats) from <paramref name="firstRow"/>.</summary>
    public void Dequantize(int firstRow, int count, Span<float> destination)
    {
        var qweight = _qweight.Ints;
        var qzeros = _qzeros.Ints;
        var scales = _scales.Halves;
        var gIdx = _gIdx.IsEmpty ? default : _gIdx.Ints;
        for (var r = 0; r < count; r++)
        {
            var o = firstRow + r;
            var row = destination.Slice(r * InFeatures, InFeatures);
            for (var i = 0; i < InFeatures; i++)
            {
                var g = gIdx.IsEmpty ? i / GroupSize : gIdx[i];
                row[i] = (float)(Code(qweight, i, o) - Zero(qzeros, g, o)) * Fp16.ToFloat(scales[(g * OutFeatures) + o]);
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
        var qzeros = _qzeros.Ints;
        var scales = _scales.Halves;
        for (var g = 0; g < Groups; g++)
        {
            for (var o = 0; o < OutFeatures; o++)
            {
                var z = Zero(qzeros, g, o);
                var bits = scales[(g * OutFeatures) + o];
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
        var qweight = _qweight.Ints;
        var qzeros = _qzeros.Ints;
        var scales = _scales.Halves;
        var gIdx = _gIdx.IsEmpty ? default : _gIdx.Ints;
        for (var r = 0; r < count; r++)
        {
            var o = firstRow + r;
            var row = destination.Slice(r * rowBytes, rowBytes);
            for (var b = 0; b < InFeatures / 32; b++)
            {
                var block = row.Slice(b * blockBytes, blockBytes);
                var first = b * 32;
                var g = gIdx.IsEmpty ? first / GroupSize : gIdx[first];
                var bits = scales[(g * OutFeatures) + o];
                BinaryPrimitives.WriteUInt16LittleEndian(block, bits);
                if (affine)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(-Zero(qzeros, g, o) * Fp16.ToFloat(bits)));
                }
                for (var j = 0; j < 16; j++)
                {
                    block[quantsAt + j] = (byte)(Code(qweight, first + j, o) | (Code(qweight, first + j + 16, o) << 4));
                }
            }
        }
    }

    /// <summary>
    /// The words of one packed tensor: an array the caller gave, or a tensor of a checkpoint read through its
    /// memory mapping each time (nothing copied, nothing held).
    /// </summary>
    readonly struct Words
    {
        readonly Array? _array;
        readonly SafetensorsTensor? _tensor;

        public Words(int[] values)
        {
            _array = values;
            Length = values.Length;
        }

        public Words(ushort[] values)
        {
            _array = values;
            Length = values.Length;
        }

        public Words(SafetensorsTensor tensor, int elementSize)
        {
            if (SafetensorsDTypes.Size(tensor.Type) != elementSize)
            {
                throw new ArgumentException($"'{tensor.Name}' is {SafetensorsDTypes.Name(tensor.Type)}; expected {(elementSize == 4 ? "I32" : "F16")}");
            }
            _tensor = tensor;
            Length = tensor.ElementCount;
        }

        public bool IsEmpty => _array is null && _tensor is null;

        public long Length { get; }

        public long HeldBytes => _array is null ? 0 : Buffer.ByteLength(_array);

        public ReadOnlySpan<int> Ints => _array is int[] values ? values : MemoryMarshal.Cast<byte, int>(Bytes);

        public ReadOnlySpan<ushort> Halves => _array is ushort[] values ? values : MemoryMarshal.Cast<byte, ushort>(Bytes);

        ReadOnlySpan<byte> Bytes => _tensor is null ? default : _tensor.Data;
    }
}
