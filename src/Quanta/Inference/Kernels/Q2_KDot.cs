using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q2_K weights against Q8_K activations (<c>ggml_vec_dot_q2_K_q8_K</c>, AVX2 order). Per super-block one float
/// accumulator of eight lanes takes first the mins, <c>fma(−d_a·dmin_w, mins[2l]·bsums[2l] + mins[2l+1]·bsums[2l+1],
/// acc)</c>, then the scaled 2-bit products (each group of 32 is two 16-element sub-blocks: lanes 0–3 take the
/// first's scale, 4–7 the second's), <c>fma(d_a·d_w, lane, acc)</c>; folded at the end (<see cref="Avx2DotOrder"/>).
/// </summary>
public sealed class Q2_KDot : IVecDot
{
    const int BlockBytes = 84;

    public GgmlType WeightType => GgmlType.Q2_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var scales = w[..16];
            var da = BinaryPrimitives.ReadSingleLittleEndian(a);
            var dmin = -da * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[82..]));
            for (var l = 0; l < Avx2DotOrder.Lanes; l++)
            {
                var mins = ((scales[2 * l] >> 4) * BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * l)..]))
                    + ((scales[2 * l + 1] >> 4) * BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * l + 2)..]));
                acc[l] = MathF.FusedMultiplyAdd(dmin, mins, acc[l]);
            }
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            sums.Clear();
            for (var half = 0; half < 2; half++)
            {
                var qs = w.Slice(16 + 32 * half, 32);
                for (var shift = 0; shift < 4; shift++)
                {
                    for (var j = 0; j < 32; j++)
                    {
                        q[j] = (sbyte)((qs[j] >> (2 * shift)) & 3);
                    }
                    var group = 4 * half + shift;
                    Avx2DotOrder.AddHalves(q, q8.Slice(32 * group, 32), scales[2 * group] & 0xF, scales[2 * group + 1] & 0xF, sums, width);
                }
            }
            var d = da * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[80..]));
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return Avx2DotOrder.Sum(acc);
    }
}
