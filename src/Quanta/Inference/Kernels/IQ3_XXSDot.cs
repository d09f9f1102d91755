using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ3_XXS weights against Q8_K activations (<c>ggml_vec_dot_iq3_xxs_q8_K</c>, AVX2 order): per 32 weights four
/// pairs of 4-value grid points (<c>iq3xxs_grid</c>), seven sign bits per 8 (<c>ksigns_iq2xs</c>, the eighth the
/// parity) and a 4-bit scale s taken as 2s+1; the lane sums (<see cref="Avx2DotOrder"/>) scaled by it, per super-block
/// <c>fma(d_w·d_a, lane, acc)</c>, and the folded total times ¼.
/// </summary>
public sealed class IQ3_XXSDot : IVecDot
{
    const int BlockBytes = 98;
    const int SignsOffset = 66;

    public GgmlType WeightType => GgmlType.IQ3_XXS;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        IqSuperBlocks.Dot<Groups>(weights, activations, n, BlockBytes, 0.25f, width);

    readonly struct Groups : IIqGroups
    {
        public void Add(ReadOnlySpan<byte> w, ReadOnlySpan<sbyte> q8, Span<sbyte> q, Span<int> sums, KernelWidth width)
        {
            var grids = Iq3Grids.Iq3Xxs;
            for (var ib = 0; ib < 8; ib++)
            {
                var aux = BinaryPrimitives.ReadUInt32LittleEndian(w[(SignsOffset + 4 * ib)..]);
                for (var l = 0; l < 4; l++)
                {
                    var grid = grids[w[2 + 8 * ib + 2 * l]] | ((ulong)grids[w[3 + 8 * ib + 2 * l]] << 32);
                    IqGridExpand.Signed8(grid, Iq2Grids.Signs[(int)((aux >> (7 * l)) & 127)], q.Slice(8 * l, 8), width);
                }
                Avx2DotOrder.AddGroup(q, q8.Slice(32 * ib, 32), (int)(2 * (aux >> 28) + 1), sums, width);
            }
        }
    }
}
