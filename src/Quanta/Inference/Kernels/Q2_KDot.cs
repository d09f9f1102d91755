using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q2_K weights against Q8_K activations (<c>ggml_vec_dot_q2_K_q8_K</c>, AVX2 order). Per super-block one float
/// accumulator of eight lanes takes first the mins, <c>fma(−d_a·dmin_w, mins[2l]·bsums[2l] + mins[2l+1]·bsums[2l+1],
/// acc)</c>, then the scaled 2-bit products (each group of 32 is two 16-element sub-blocks: lanes 0–3 take the
/// first's scale, 4–7 the second's), <c>fma(d_a·d_w, lane, acc)</c>; folded at the end (<see cref="Avx2DotOrder"/>).
/// A batch unpacks each weight row once (<see cref="UnpackedRow"/>) and meets it with every token in the same order.
/// </summary>
public sealed class Q2_KDot : IVecDot, IMatrixDot
{
    const int BlockBytes = 84;
    const int QsOffset = 16;
    const int DOffset = 80;
    const int DminOffset = 82;

    /// <summary>Per super-block: 16 scales (low nibbles), then 16 mins (high nibbles).</summary>
    const int IntegersPerBlock = 32;

    public GgmlType WeightType => GgmlType.Q2_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[256];
        Span<int> scalesAndMins = stackalloc int[IntegersPerBlock];
        Span<float> d = stackalloc float[2];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        if (width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported)
        {
            return PackedDotAvx2(weights, activations, n);
        }
        for (var b = 0; b < n / 256; b++)
        {
            Unpack(weights.Slice(b * BlockBytes, BlockBytes), q, scalesAndMins, d, width);
            AddBlock(q, scalesAndMins, d, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, width);
        }
        return Avx2DotOrder.Sum(acc);
    }

    public bool CanMultiply(KernelWidth width) => width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported;

    /// <summary><see cref="Dot"/> for a block of rows and tokens, each weight row unpacked once: the same floats.</summary>
    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var width = KernelWidths.Current;
        var blocks = n / 256;
        var row = UnpackedRow.For(blocks, IntegersPerBlock, floatsPerBlock: 2);
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        if (tokens == 1)
        {
            // One token (generation): nothing to share an unpacked row with, so each block is read as it is packed.
            for (var r = 0; r < rows; r++)
            {
                output[r] = PackedDotAvx2(weights.Slice(r * rowBytes, rowBytes), activations, n);
            }
            return;
        }
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < blocks; b++)
            {
                Unpack(weights.Slice((r * rowBytes) + (b * BlockBytes), BlockBytes), row.Levels.AsSpan(b * 256, 256), row.Integers.AsSpan(b * IntegersPerBlock, IntegersPerBlock), row.Floats.AsSpan(b * 2, 2), width);
            }
            var t = 0;
            if (width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported)
            {
                // Two tokens at a time share each group's levels and scales.
                for (; t + 2 <= tokens; t += 2)
                {
                    var (first, second) = UnpackedRowDotsAvx2(row, blocks, activations.Slice(t * activationRowBytes, 2 * activationRowBytes), activationRowBytes);
                    output[(t * outputStride) + r] = first;
                    output[((t + 1) * outputStride) + r] = second;
                }
            }
            for (; t < tokens; t++)
            {
                var activationRow = activations.Slice(t * activationRowBytes, activationRowBytes);
                acc.Clear();
                for (var b = 0; b < blocks; b++)
                {
                    AddBlock(row.Levels.AsSpan(b * 256, 256), row.Integers.AsSpan(b * IntegersPerBlock, IntegersPerBlock), row.Floats.AsSpan(b * 2, 2), activationRow.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, width);
                }
                output[(t * outputStride) + r] = Avx2DotOrder.Sum(acc);
            }
        }
    }

    /// <summary>
    /// One super-block's 256 levels (0..3) in element order (in each half of 128, group j is bits 2j..2j+1 of the half's
    /// 32 <c>qs</c> bytes), its scales and mins, and its d and dmin.
    /// </summary>
    static void Unpack(ReadOnlySpan<byte> w, Span<sbyte> q, Span<int> scalesAndMins, Span<float> d, KernelWidth width)
    {
        for (var half = 0; half < 2; half++)
        {
            var qs = w.Slice(QsOffset + (32 * half), 32);
            if (width == KernelWidth.Scalar)
            {
                for (var shift = 0; shift < 4; shift++)
                {
                    for (var j = 0; j < 32; j++)
                    {
                        q[(128 * half) + (32 * shift) + j] = (sbyte)((qs[j] >> (2 * shift)) & 3);
                    }
                }
                continue;
            }
            var bits = Vector256.Create(qs);
            var output = MemoryMarshal.Cast<sbyte, byte>(q);
            for (var shift = 0; shift < 4; shift++)
            {
                (Vector256.ShiftRightLogical(bits, 2 * shift) & Vector256.Create((byte)3)).CopyTo(output[((128 * half) + (32 * shift))..]);
            }
        }
        for (var j = 0; j < 16; j++)
        {
            scalesAndMins[j] = w[j] & 0xF;
            scalesAndMins[16 + j] = w[j] >> 4;
        }
        d[0] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[DOffset..]));
        d[1] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[DminOffset..]));
    }

    /// <summary>One unpacked super-block against one Q8_K block: the mins' lanes, then the scaled products' lanes.</summary>
    static void AddBlock(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> scalesAndMins, ReadOnlySpan<float> d, ReadOnlySpan<byte> a, Span<int> sums, Span<float> acc, KernelWidth width)
    {
        var da = BinaryPrimitives.ReadSingleLittleEndian(a);
        var dmin = -da * d[1];
        if (width != KernelWidth.Scalar && Avx2.IsSupported)
        {
            AddBlockAvx2(q, scalesAndMins, da * d[0], dmin, a, acc);
            return;
        }
        for (var l = 0; l < Avx2DotOrder.Lanes; l++)
        {
            var mins = (scalesAndMins[16 + (2 * l)] * BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + (4 * l))..]))
                + (scalesAndMins[16 + (2 * l) + 1] * BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + (4 * l) + 2)..]));
            acc[l] = MathF.FusedMultiplyAdd(dmin, mins, acc[l]);
        }
        var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
        sums.Clear();
        for (var g = 0; g < 8; g++)
        {
            Avx2DotOrder.AddHalves(q.Slice(32 * g, 32), q8.Slice(32 * g, 32), scalesAndMins[2 * g], scalesAndMins[(2 * g) + 1], sums, width);
        }
        Avx2DotOrder.Accumulate(da * d[0], sums, acc);
    }

    /// <summary>
    /// <see cref="AddBlock"/> as ggml's AVX2 code computes it: the mins' lanes by one <c>vpmaddwd</c> with the
    /// activation sums, each group's products by <c>vpmaddubsw</c> (levels 0..3 unsigned, activations signed: no
    /// saturation) and <c>vpmaddwd</c> with its two scales; the same integers in every lane, the same two fused
    /// multiply-adds per lane, so the same floats.
    /// </summary>
    static unsafe void AddBlockAvx2(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> scalesAndMins, float d, float dmin, ReadOnlySpan<byte> a, Span<float> acc)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(q.Length, 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(scalesAndMins.Length, IntegersPerBlock);
        ArgumentOutOfRangeException.ThrowIfLessThan(a.Length, Q8_KActivations.BlockBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(acc.Length, Avx2DotOrder.Lanes);
        fixed (sbyte* levels = q)
        fixed (int* integers = scalesAndMins)
        fixed (byte* block = a)
        fixed (float* lanes = acc)
        {
            var mins = Avx.LoadVector256(integers + 16);
            var mins16 = Avx2.PackSignedSaturate(mins, Avx.LoadVector256(integers + 24));
            // packs interleaves 128-bit halves: restore element order (0..7 | 8..15).
            mins16 = Avx2.Permute4x64(mins16.AsInt64(), 0b11_01_10_00).AsInt16();
            var bsums = Avx.LoadVector256((short*)(block + Q8_KActivations.SumsOffset));
            var sum = Avx.LoadVector256(lanes);
            sum = Fma.MultiplyAdd(Vector256.Create(dmin), Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mins16, bsums)), sum);
            var products = Vector256<int>.Zero;
            var q8 = (sbyte*)(block + Q8_KActivations.QuantsOffset);
            for (var g = 0; g < 8; g++)
            {
                var pairs = Avx2.MultiplyAddAdjacent(Avx.LoadVector256((byte*)levels + (32 * g)), Avx.LoadVector256(q8 + (32 * g)));
                var scales = Vector256.Create(
                    Vector128.Create((short)integers[2 * g]), Vector128.Create((short)integers[(2 * g) + 1]));
                products += Avx2.MultiplyAddAdjacent(pairs, scales);
            }
            Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(products), sum).Store(lanes);
        }
    }

    /// <summary>
    /// <see cref="Dot"/> straight from the packed blocks (AVX2 + FMA): each group's levels shifted out of the
    /// <c>qs</c> bytes in a register (16-bit shifts, then the mask: the same bytes as <see cref="Unpack"/>), then
    /// <see cref="AddBlockAvx2"/>'s products and order.
    /// </summary>
    static unsafe float PackedDotAvx2(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n)
    {
        var blocks = n / 256;
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, blocks * BlockBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, blocks * Q8_KActivations.BlockBytes);
        var sum = Vector256<float>.Zero;
        fixed (byte* w0 = weights)
        fixed (byte* a0 = activations)
        {
            for (var b = 0; b < blocks; b++)
            {
                var w = w0 + (b * BlockBytes);
                var a = a0 + (b * Q8_KActivations.BlockBytes);
                var da = *(float*)a;
                var dmin = -da * Fp16.ToFloat(*(ushort*)(w + DminOffset));
                var nibbles = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(w));
                var mins16 = Avx2.ShiftRightLogical(nibbles, 4);
                sum = Fma.MultiplyAdd(Vector256.Create(dmin), Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mins16, Avx.LoadVector256((short*)(a + Q8_KActivations.SumsOffset)))), sum);
                var products = Vector256<int>.Zero;
                var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
                for (var half = 0; half < 2; half++)
                {
                    var bits = Avx.LoadVector256(w + QsOffset + (32 * half)).AsUInt16();
                    for (var shift = 0; shift < 4; shift++)
                    {
                        var g = (4 * half) + shift;
                        var levels = Vector256.ShiftRightLogical(bits, 2 * shift).AsByte() & Vector256.Create((byte)3);
                        var pairs = Avx2.MultiplyAddAdjacent(levels, Avx.LoadVector256(q8 + (32 * g)));
                        var scales = Vector256.Create(Vector128.Create((short)(w[2 * g] & 0xF)), Vector128.Create((short)(w[(2 * g) + 1] & 0xF)));
                        products += Avx2.MultiplyAddAdjacent(pairs, scales);
                    }
                }
                sum = Fma.MultiplyAdd(Vector256.Create(da * Fp16.ToFloat(*(ushort*)(w + DOffset))), Avx.ConvertToVector256Single(products), sum);
            }
        }
        Span<float> lanes = stackalloc float[Avx2DotOrder.Lanes];
        sum.CopyTo(lanes);
        return Avx2DotOrder.Sum(lanes);
    }

    /// <summary>
    /// An unpacked row against two tokens' activations (<paramref name="activations"/>: two rows
    /// <paramref name="activationRowBytes"/> apart), <see cref="AddBlockAvx2"/>'s steps for each: the same floats.
    /// </summary>
    static unsafe (float First, float Second) UnpackedRowDotsAvx2(UnpackedRow row, int blocks, ReadOnlySpan<byte> activations, int activationRowBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(row.Levels.Length, blocks * 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(row.Integers.Length, blocks * IntegersPerBlock);
        ArgumentOutOfRangeException.ThrowIfLessThan(row.Floats.Length, blocks * 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, activationRowBytes + (blocks * Q8_KActivations.BlockBytes));
        var sum0 = Vector256<float>.Zero;
        var sum1 = Vector256<float>.Zero;
        fixed (sbyte* levels0 = row.Levels)
        fixed (int* integers0 = row.Integers)
        fixed (float* floats0 = row.Floats)
        fixed (byte* activations0 = activations)
        {
            for (var b = 0; b < blocks; b++)
            {
                var levels = (byte*)levels0 + (b * 256);
                var integers = integers0 + (b * IntegersPerBlock);
                var a = activations0 + (b * Q8_KActivations.BlockBytes);
                var z = a + activationRowBytes;
                var da0 = *(float*)a;
                var da1 = *(float*)z;
                var d = floats0[2 * b];
                var dminW = floats0[(2 * b) + 1];
                var mins16 = Avx2.Permute4x64(
                    Avx2.PackSignedSaturate(Avx.LoadVector256(integers + 16), Avx.LoadVector256(integers + 24)).AsInt64(), 0b11_01_10_00).AsInt16();
                sum0 = Fma.MultiplyAdd(Vector256.Create(-da0 * dminW), Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mins16, Avx.LoadVector256((short*)(a + Q8_KActivations.SumsOffset)))), sum0);
                sum1 = Fma.MultiplyAdd(Vector256.Create(-da1 * dminW), Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mins16, Avx.LoadVector256((short*)(z + Q8_KActivations.SumsOffset)))), sum1);
                var products0 = Vector256<int>.Zero;
                var products1 = Vector256<int>.Zero;
                var q80 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
                var q81 = (sbyte*)(z + Q8_KActivations.QuantsOffset);
                for (var g = 0; g < 8; g++)
                {
                    var level = Avx.LoadVector256(levels + (32 * g));
                    var scales = Vector256.Create(Vector128.Create((short)integers[2 * g]), Vector128.Create((short)integers[(2 * g) + 1]));
                    products0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(level, Avx.LoadVector256(q80 + (32 * g))), scales);
                    products1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(level, Avx.LoadVector256(q81 + (32 * g))), scales);
                }
                sum0 = Fma.MultiplyAdd(Vector256.Create(da0 * d), Avx.ConvertToVector256Single(products0), sum0);
                sum1 = Fma.MultiplyAdd(Vector256.Create(da1 * d), Avx.ConvertToVector256Single(products1), sum1);
            }
        }
        Span<float> lanes = stackalloc float[Avx2DotOrder.Lanes];
        sum0.CopyTo(lanes);
        var first = Avx2DotOrder.Sum(lanes);
        sum1.CopyTo(lanes);
        return (first, Avx2DotOrder.Sum(lanes));
    }
}
