using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ4_XS weights against Q8_K activations (<c>ggml_vec_dot_iq4_xs_q8_K</c>, AVX2 order): per super-block the eight
/// 32-element sub-blocks (IQ4_NL's non-linear values, low nibbles first) scaled by their 6-bit scale − 32 into eight
/// integer lanes, then <c>fma(d_w·d_a, lane, acc)</c> and the fold of <see cref="Avx2DotOrder"/>.
/// </summary>
public sealed class IQ4_XSDot : IVecDot
{
    const int BlockBytes = 136;

    public GgmlType WeightType => GgmlType.IQ4_XS;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        if (TileSums.Supported(width))
        {
            return DotAvx2(weights, activations, n / 256);
        }
        Span<sbyte> q = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        var values = NonLinearSearch.Values;
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var scalesHigh = BinaryPrimitives.ReadUInt16LittleEndian(w[2..]);
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            sums.Clear();
            for (var ib = 0; ib < 8; ib++)
            {
                var qs = w.Slice(8 + 16 * ib, 16);
                for (var j = 0; j < 16; j++)
                {
                    q[j] = values[qs[j] & 0xF];
                    q[j + 16] = values[qs[j] >> 4];
                }
                var scale = (((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scalesHigh >> (2 * ib)) & 3) << 4)) - 32;
                Avx2DotOrder.AddGroup(q, q8.Slice(32 * ib, 32), scale, sums, width);
            }
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * BinaryPrimitives.ReadSingleLittleEndian(a);
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return Avx2DotOrder.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> as ggml's AVX2 code computes it: each sub-block's nibbles looked up in IQ4_NL's values by
    /// <c>vpshufb</c> (low nibbles, then high), the products by <c>vpmaddubsw</c> of their magnitudes with the activations
    /// carrying their signs (exact: |value| ≤ 127) and <c>vpmaddwd</c> with the scale, which leaves lane l the scaled
    /// sum of elements 4l..4l+3; then <c>fma(d_w·d_a, lane, acc)</c>. The same floats as the scalar twin.
    /// </summary>
    static unsafe float DotAvx2(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, blocks * BlockBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, blocks * Q8_KActivations.BlockBytes);
        var table = Vector128.Create(NonLinearSearch.Values);
        var low = Vector128.Create((byte)0x0F);
        var acc = Vector256<float>.Zero;
        fixed (byte* w0 = weights)
        fixed (byte* a0 = activations)
        {
            for (var b = 0; b < blocks; b++)
            {
                var w = w0 + (b * BlockBytes);
                var a = a0 + (b * Q8_KActivations.BlockBytes);
                var scalesHigh = *(ushort*)(w + 2);
                var q8 = (sbyte*)(a + Q8_KActivations.QuantsOffset);
                var sums = Vector256<int>.Zero;
                for (var ib = 0; ib < 8; ib++)
                {
                    var qs = Sse2.LoadVector128(w + 8 + (16 * ib));
                    var q = Vector256.Create(
                        Ssse3.Shuffle(table, (qs & low).AsSByte()),
                        Ssse3.Shuffle(table, (Vector128.ShiftRightLogical(qs.AsUInt16(), 4).AsByte() & low).AsSByte()));
                    var pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(q), Avx2.Sign(Avx.LoadVector256(q8 + (32 * ib)), q));
                    var scale = (((w[4 + (ib / 2)] >> (4 * (ib % 2))) & 0xF) | (((scalesHigh >> (2 * ib)) & 3) << 4)) - 32;
                    sums = TileSums.AddScaledPairs(sums, pairs, Vector256.Create((short)scale));
                }
                var d = Fp16.ToFloat(*(ushort*)w) * *(float*)a;
                acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sums), acc);
            }
        }
        return TileSums.Fold(acc);
    }
}
