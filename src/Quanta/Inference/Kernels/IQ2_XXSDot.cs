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

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        IqSuperBlocks.Dot<Groups>(weights, activations, n, BlockBytes, 0.125f, width);

    readonly struct Groups : IIqGroups
    {
        public void Add(ReadOnlySpan<byte> w, ReadOnlySpan<sbyte> q8, Span<sbyte> q, Span<int> sums, KernelWidth width)
        {
            var grids = Iq2Grids.Iq2Xxs;
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
        }
    }
}
