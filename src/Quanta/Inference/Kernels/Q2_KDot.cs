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
/// With AVX2 the integer steps are ggml's (<see cref="TileSums"/>); a batch unpacks each row's levels once
/// (<see cref="UnpackedRow"/>) and meets them with two tokens at a time, in the same order.
/// </summary>
public sealed class Q2_KDot : IVecDot, IMatrixDot
{
    const int BlockBytes = 84;
    const int QsOffset = 16;
    const int DOffset = 80;
    const int DminOffset = 82;

    /// <summary>Per super-block in the scalar twin: 16 scales (low nibbles), then 16 mins (high nibbles).</summary>
    const int IntegersPerBlock = 32;

    public GgmlType WeightType => GgmlType.Q2_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        if (TileSums.Supported(width))
        {
            return PackedDotAvx2(weights, activations, n / 256);
        }
        Span<sbyte> q = stackalloc sbyte[256];
        Span<int> scalesAndMins = stackalloc int[IntegersPerBlock];
        Span<float> d = stackalloc float[2];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            UnpackLevels(w, q, width);
            for (var j = 0; j < 16; j++)
            {
                scalesAndMins[j] = w[j] & 0xF;
                scalesAndMins[16 + j] = w[j] >> 4;
            }
            d[0] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[DOffset..]));
            d[1] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[DminOffset..]));
            AddBlock(q, scalesAndMins, d, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, width);
        }
        return Avx2DotOrder.Sum(acc);
    }

    public bool CanMultiply(KernelWidth width) => TileSums.Supported(width);

    /// <summary>
    /// <see cref="Dot"/> for a block of rows and tokens: each row's levels unpacked once and met by two tokens at a time
    /// (<see cref="UnpackedRowDotsAvx2"/>); a last odd token, or a single one, reads the packed blocks. The same floats.
    /// </summary>
    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        var width = KernelWidths.Current;
        var blocks = n / 256;
        var levels = UnpackedRow.For(blocks, integersPerBlock: 0, floatsPerBlock: 0).Levels;
        for (var r = 0; r < rows; r++)
        {
            var row = weights.Slice(r * rowBytes, blocks * BlockBytes);
            var t = 0;
            if (tokens >= 2)
            {
                for (var b = 0; b < blocks; b++)
                {
                    UnpackLevels(row.Slice(b * BlockBytes, BlockBytes), levels.AsSpan(b * 256, 256), width);
                }
                for (; t + 2 <= tokens; t += 2)
                {
                    var (first, second) = UnpackedRowDotsAvx2(levels, row, blocks, activations.Slice(t * activationRowBytes, 2 * activationRowBytes), activationRowBytes);
                    output[(t * outputStride) + r] = first;
                    output[((t + 1) * outputStride) + r] = second;
                }
            }
            if (t < tokens)
            {
                output[(t * outputStride) + r] = PackedDotAvx2(row, activations.Slice(t * activationRowBytes, activationRowBytes), blocks);
            }
        }
    }

    /// <summary>
    /// One super-block's 256 levels (0..3) in element order: in each half of 128, group j is bits 2j..2j+1 of the
    /// half's 32 <c>qs</c> bytes.
    /// </summary>
    static void UnpackLevels(ReadOnlySpan<byte> w, Span<sbyte> q, KernelWidth width)
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
    }

    /// <summary>The scalar twin's super-block against one Q8_K block: the mins' lanes, then the scaled products' lanes.</summary>
    static void AddBlock(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> scalesAndMins, ReadOnlySpan<float> d, ReadOnlySpan<byte> a, Span<int> sums, Span<float> acc, KernelWidth width)
    {
        var da = BinaryPrimitives.ReadSingleLittleEndian(a);
        var dmin = -da * d[1];
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
    /// A block's mins' lanes as ggml's AVX2 code takes them, <c>fma(−d_a·dmin_w, pmaddwd(mins, bsums), acc)</c>: the mins
    /// are the high nibbles of the 16 scale bytes, the activation sums the Q8_K block's sixteen.
    /// </summary>
    static unsafe Vector256<float> AddMins(byte* w, byte* a, Vector256<short> mins, Vector256<float> acc) =>
        Fma.MultiplyAdd(
            Vector256.Create(-*(float*)a * Fp16.ToFloat(*(ushort*)(w + DminOffset))),
            Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256((short*)(a + Q8_KActivations.SumsOffset)))),
            acc);

    /// <summary>
    /// <see cref="Dot"/> straight from the packed blocks, in ggml's AVX2 steps: each group's levels shifted out of the
    /// <c>qs</c> bytes in a register (16-bit shifts, then the mask: <see cref="UnpackLevels"/>'s bytes), <c>pmaddubsw</c>
    /// with the activations (levels unsigned 0..3: no saturation), the group's two sub-block scales by
    /// <see cref="TileSums.SubBlockPairScales"/> and <see cref="TileSums.AddScaledPairs"/>; per block the mins' lanes
    /// (<see cref="AddMins"/>), then <c>fma(d_a·d_w, lane, acc)</c>; <see cref="TileSums.Fold"/>.
    /// </summary>
    static unsafe float PackedDotAvx2(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int blocks)
    {
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
                var packedScales = Sse2.LoadVector128(w);
                sum = AddMins(w, a, Avx2.ShiftRightLogical(Avx2.ConvertToVector256Int16(packedScales), 4), sum);
                var scales = (packedScales & Vector128.Create((byte)0x0F)).AsSByte();
                var shuffle = TileSums.FirstSubBlockPair;
                var products = Vector256<int>.Zero;
                var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
                for (var half = 0; half < 2; half++)
                {
                    var bits = Avx.LoadVector256(w + QsOffset + (32 * half)).AsUInt16();
                    for (var shift = 0; shift < 4; shift++)
                    {
                        var levels = Vector256.ShiftRightLogical(bits, 2 * shift).AsByte() & Vector256.Create((byte)3);
                        var pairs = Avx2.MultiplyAddAdjacent(levels, Avx.LoadVector256(q8 + (32 * ((4 * half) + shift))));
                        products = TileSums.AddScaledPairs(products, pairs, TileSums.SubBlockPairScales(scales, ref shuffle));
                    }
                }
                sum = Fma.MultiplyAdd(Vector256.Create(*(float*)a * Fp16.ToFloat(*(ushort*)(w + DOffset))), Avx.ConvertToVector256Single(products), sum);
            }
        }
        return TileSums.Fold(sum);
    }

    /// <summary>
    /// A row's unpacked <paramref name="levels"/> (its packed blocks in <paramref name="row"/> for scales, mins, d and
    /// dmin) against two tokens' activations, <paramref name="activationRowBytes"/> apart: <see cref="PackedDotAvx2"/>'s
    /// steps for each, each group's levels and scales loaded once for both. The same floats.
    /// </summary>
    static unsafe (float First, float Second) UnpackedRowDotsAvx2(sbyte[] levels, ReadOnlySpan<byte> row, int blocks, ReadOnlySpan<byte> activations, int activationRowBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels.Length, blocks * 256);
        ArgumentOutOfRangeException.ThrowIfLessThan(row.Length, blocks * BlockBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, activationRowBytes + (blocks * Q8_KActivations.BlockBytes));
        var sum0 = Vector256<float>.Zero;
        var sum1 = Vector256<float>.Zero;
        fixed (sbyte* levels0 = levels)
        fixed (byte* w0 = row)
        fixed (byte* activations0 = activations)
        {
            for (var b = 0; b < blocks; b++)
            {
                var level = (byte*)levels0 + (b * 256);
                var w = w0 + (b * BlockBytes);
                var a = activations0 + (b * Q8_KActivations.BlockBytes);
                var z = a + activationRowBytes;
                var packedScales = Sse2.LoadVector128(w);
                var mins = Avx2.ShiftRightLogical(Avx2.ConvertToVector256Int16(packedScales), 4);
                sum0 = AddMins(w, a, mins, sum0);
                sum1 = AddMins(w, z, mins, sum1);
                var scales = (packedScales & Vector128.Create((byte)0x0F)).AsSByte();
                var shuffle = TileSums.FirstSubBlockPair;
                var products0 = Vector256<int>.Zero;
                var products1 = Vector256<int>.Zero;
                var q80 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
                var q81 = (sbyte*)(z + Q8_KActivations.QuantsOffset);
                for (var g = 0; g < 8; g++)
                {
                    var group = Avx.LoadVector256(level + (32 * g));
                    var pairScales = TileSums.SubBlockPairScales(scales, ref shuffle);
                    products0 = TileSums.AddScaledPairs(products0, Avx2.MultiplyAddAdjacent(group, Avx.LoadVector256(q80 + (32 * g))), pairScales);
                    products1 = TileSums.AddScaledPairs(products1, Avx2.MultiplyAddAdjacent(group, Avx.LoadVector256(q81 + (32 * g))), pairScales);
                }
                var d = Fp16.ToFloat(*(ushort*)(w + DOffset));
                sum0 = Fma.MultiplyAdd(Vector256.Create(*(float*)a * d), Avx.ConvertToVector256Single(products0), sum0);
                sum1 = Fma.MultiplyAdd(Vector256.Create(*(float*)z * d), Avx.ConvertToVector256Single(products1), sum1);
            }
        }
        return (TileSums.Fold(sum0), TileSums.Fold(sum1));
    }
}
