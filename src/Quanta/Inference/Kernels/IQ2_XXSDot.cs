using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ2_XXS weights against Q8_K activations (<c>ggml_vec_dot_iq2_xxs_q8_K</c>, AVX2 order): per 32 weights four
/// 8-value grid points (<c>iq2xxs_grid</c>), seven sign bits per 8 (<c>ksigns_iq2xs</c>) and a 4-bit scale s taken as
/// 2s+1; the lane sums (<see cref="Avx2DotOrder"/>) scaled by it, per super-block <c>fma(d_w·d_a, lane, acc)</c>, and
/// the folded total times ⅛.
/// </summary>
public sealed class IQ2_XXSDot : IVecDot
{
    const int BlockBytes = 66;

    public GgmlType WeightType => GgmlType.IQ2_XXS;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        var grids = Iq2Grids.Iq2Xxs;
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            sums.Clear();
            for (var ib = 0; ib < 8; ib++)
            {
                var indices = BinaryPrimitives.ReadUInt32LittleEndian(w[(2 + 8 * ib)..]);
                var aux = BinaryPrimitives.ReadUInt32LittleEndian(w[(6 + 8 * ib)..]);
                for (var l = 0; l < 4; l++)
                {
                    IqGridExpand.Signed8(grids[(indices >> (8 * l)) & 255], Iq2Grids.Signs[(int)((aux >> (7 * l)) & 127)], q.Slice(8 * l, 8), width);
                }
                Avx2DotOrder.AddGroup(q, q8.Slice(32 * ib, 32), (int)(2 * (aux >> 28) + 1), sums, width);
            }
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * BinaryPrimitives.ReadSingleLittleEndian(a);
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return 0.125f * Avx2DotOrder.Sum(acc);
    }
}
