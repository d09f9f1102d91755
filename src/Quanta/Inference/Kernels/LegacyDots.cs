using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The 32-element formats with one scale per block (Q4_0, Q5_0, IQ4_NL against Q8_0 activations; Q4_1, Q5_1 against
/// Q8_1), as ggml-cpu's AVX2 <c>ggml_vec_dot_*</c> computes them: the block's weights unpacked to signed or unsigned
/// bytes, eight exact lane sums of four products (<see cref="Avx2DotOrder"/>), <c>fma(d_w·d_a, lane, acc)</c>, and
/// for the affine formats <c>Σ m_w·s_a</c> added after the fold. IQ4_NL keeps two accumulators, even and odd blocks,
/// added lane by lane before the fold, with a last odd block summed apart as ggml's tail loop does.
/// </summary>
public sealed class LegacyDot : IVecDot
{
    readonly int _blockBytes;

    LegacyDot(GgmlType type, GgmlType activationType, int blockBytes)
    {
        WeightType = type;
        ActivationType = activationType;
        _blockBytes = blockBytes;
    }

    public static LegacyDot Q4_0 { get; } = new(GgmlType.Q4_0, GgmlType.Q8_0, 18);

    public static LegacyDot Q4_1 { get; } = new(GgmlType.Q4_1, GgmlType.Q8_1, 20);

    public static LegacyDot Q5_0 { get; } = new(GgmlType.Q5_0, GgmlType.Q8_0, 22);

    public static LegacyDot Q5_1 { get; } = new(GgmlType.Q5_1, GgmlType.Q8_1, 24);

    public static LegacyDot Iq4Nl { get; } = new(GgmlType.IQ4_NL, GgmlType.Q8_0, 18);

    public GgmlType WeightType { get; }

    public GgmlType ActivationType { get; }

    bool Affine => ActivationType == GgmlType.Q8_1;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width)
    {
        if (Affine)
        {
            Q8_1Activations.Quantize(x, destination, width);
        }
        else
        {
            Q8_0Activations.Quantize(x, destination, width);
        }
    }

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        if (WeightType == GgmlType.Q4_0 && TileSums.Supported(width))
        {
            return Q4_0DotAvx2(weights, activations, n / 32);
        }
        Span<sbyte> q = stackalloc sbyte[32];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        Span<float> acc = stackalloc float[2 * Avx2DotOrder.Lanes];
        acc.Clear();
        var activationBytes = Affine ? Q8_1Activations.BlockBytes : Q8_0Activations.BlockBytes;
        var quantsOffset = Affine ? 4 : 2;
        var blocks = n / 32;
        // IQ4_NL's AVX2 loop takes blocks in pairs and leaves an odd last block to a scalar tail.
        var paired = WeightType == GgmlType.IQ4_NL ? blocks & ~1 : blocks;
        var mins = 0f;
        for (var b = 0; b < paired; b++)
        {
            var w = weights.Slice(b * _blockBytes, _blockBytes);
            var a = activations.Slice(b * activationBytes, activationBytes);
            Unpack(w, q);
            sums.Clear();
            Avx2DotOrder.AddGroup(q, IntegerDot.Signed(a.Slice(quantsOffset, 32)), 1, sums, width);
            var dw = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w));
            var da = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a));
            var lanes = WeightType == GgmlType.IQ4_NL ? acc.Slice((b & 1) * Avx2DotOrder.Lanes, Avx2DotOrder.Lanes) : acc[..Avx2DotOrder.Lanes];
            Avx2DotOrder.Accumulate(WeightType == GgmlType.IQ4_NL ? da * dw : dw * da, sums, lanes);
            if (Affine)
            {
                mins += Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[2..])) * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a[2..]));
            }
        }
        for (var l = 0; l < Avx2DotOrder.Lanes; l++)
        {
            acc[l] += acc[Avx2DotOrder.Lanes + l];
        }
        var sum = Avx2DotOrder.Sum(acc[..Avx2DotOrder.Lanes]) + mins;
        for (var b = paired; b < blocks; b++)
        {
            var w = weights.Slice(b * _blockBytes, _blockBytes);
            var a = activations.Slice(b * activationBytes, activationBytes);
            Unpack(w, q);
            var sumi = 0;
            for (var j = 0; j < 32; j++)
            {
                sumi += q[j] * (sbyte)a[2 + j];
            }
            sum += Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a)) * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * sumi;
        }
        return sum;
    }

    /// <summary>The block's 32 weights as integers, in element order (low nibbles first, then high nibbles).</summary>
    void Unpack(ReadOnlySpan<byte> block, Span<sbyte> q)
    {
        var (offset, high, bias) = WeightType switch
        {
            GgmlType.Q4_0 => (2, 0u, 8),
            GgmlType.Q4_1 => (4, 0u, 0),
            GgmlType.Q5_0 => (6, BinaryPrimitives.ReadUInt32LittleEndian(block[2..]), 16),
            GgmlType.Q5_1 => (8, BinaryPrimitives.ReadUInt32LittleEndian(block[4..]), 0),
            _ => (2, 0u, 0),
        };
        var qs = block.Slice(offset, 16);
        if (WeightType == GgmlType.IQ4_NL)
        {
            var values = NonLinearSearch.Values;
            for (var j = 0; j < 16; j++)
            {
                q[j] = values[qs[j] & 0xF];
                q[j + 16] = values[qs[j] >> 4];
            }
            return;
        }
        for (var j = 0; j < 16; j++)
        {
            q[j] = (sbyte)((qs[j] & 0xF) + (int)(((high >> j) & 1) << 4) - bias);
            q[j + 16] = (sbyte)((qs[j] >> 4) + (int)(((high >> (j + 16)) & 1) << 4) - bias);
        }
    }

    /// <summary>
    /// Q4_0's <see cref="Dot"/> as ggml's AVX2 <c>ggml_vec_dot_q4_0_q8_0</c> computes it: the 32 nibbles of a block
    /// unpacked in one register less 8, the products by <c>vpmaddubsw</c> of their magnitudes with the activations
    /// carrying their signs (exact: |q| ≤ 8, Q8_0 activations within ±127) and <c>vpmaddwd</c> with ones, which leaves
    /// lane l the sum of elements 4l..4l+3 as <see cref="Avx2DotOrder"/> has it, then <c>fma(d_w·d_a, lane, acc)</c>:
    /// the same floats as the scalar twin.
    /// </summary>
    static unsafe float Q4_0DotAvx2(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int blocks)
    {
        const int weightBytes = 18;
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, blocks * weightBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, blocks * Q8_0Activations.BlockBytes);
        var acc = Vector256<float>.Zero;
        var ones = Vector256.Create((short)1);
        var low = Vector128.Create((byte)0x0F);
        fixed (byte* w0 = weights)
        fixed (byte* a0 = activations)
        {
            for (var b = 0; b < blocks; b++)
            {
                var w = w0 + (b * weightBytes);
                var a = a0 + (b * Q8_0Activations.BlockBytes);
                var qs = Sse2.LoadVector128(w + 2);
                var nibbles = Vector256.Create(qs & low, Vector128.ShiftRightLogical(qs.AsUInt16(), 4).AsByte() & low);
                var q = nibbles.AsSByte() - Vector256.Create((sbyte)8);
                var y = Avx.LoadVector256((sbyte*)(a + 2));
                var sums = TileSums.AddScaledPairs(Vector256<int>.Zero, Avx2.MultiplyAddAdjacent(Avx2.Abs(q), Avx2.Sign(y, q)), ones);
                var d = Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a);
                acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sums), acc);
            }
        }
        return TileSums.Fold(acc);
    }
}
