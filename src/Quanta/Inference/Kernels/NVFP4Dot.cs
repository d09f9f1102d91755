using System.Buffers.Binary;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// NVFP4 weights against Q8_0 activations (<c>ggml_vec_dot_nvfp4_q8_0</c>, AVX2 order): a block of 64 is four
/// sub-blocks of 16 with a UE4M3 scale each (halved for the doubled <c>kvalues_fp4</c>), dotted with two Q8_0 blocks.
/// Each Q8_0 block's eight exact lane sums (<see cref="Avx2DotOrder"/>) go into one accumulator,
/// <c>fma(ue4m3(d_s)·d_a, lane, acc)</c> with lanes 0–3 under the first sub-block's scale and 4–7 the second's, the
/// two Q8_0 blocks one after the other.
/// </summary>
public sealed class NVFP4Dot : IVecDot
{
    const int BlockBytes = 36;
    const int QsOffset = 4;

    public GgmlType WeightType => GgmlType.NVFP4;

    public GgmlType ActivationType => GgmlType.Q8_0;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_0Activations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        acc.Clear();
        var values = Fp4.Values;
        for (var b = 0; b < n / 64; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            for (var half = 0; half < 2; half++)
            {
                var a = activations.Slice((2 * b + half) * Q8_0Activations.BlockBytes, Q8_0Activations.BlockBytes);
                // Sub-block s: value j in the low nibble of byte 8s+j, value j+8 in its high nibble.
                for (var s = 0; s < 2; s++)
                {
                    var qs = w.Slice(QsOffset + 8 * (2 * half + s), 8);
                    for (var j = 0; j < 8; j++)
                    {
                        q[16 * s + j] = values[qs[j] & 0xF];
                        q[16 * s + 8 + j] = values[qs[j] >> 4];
                    }
                }
                sums.Clear();
                Avx2DotOrder.AddGroup(q, IntegerDot.Signed(a.Slice(2, 32)), 1, sums, width);
                var da = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a));
                var first = Fp4.Ue4m3ToFloat(w[2 * half]) * da;
                var second = Fp4.Ue4m3ToFloat(w[2 * half + 1]) * da;
                for (var l = 0; l < Avx2DotOrder.Lanes; l++)
                {
                    acc[l] = MathF.FusedMultiplyAdd(l < 4 ? first : second, sums[l], acc[l]);
                }
            }
        }
        return Avx2DotOrder.Sum(acc);
    }
}
