using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ2_S weights against Q8_K activations (<c>ggml_vec_dot_iq2_s_q8_K</c>, AVX2 order): per 8 weights a 10-bit index
/// into <c>iq2s_grid</c> (eight bits in <c>qs</c>, two in <c>qh</c>) and a stored byte of signs; a 4-bit scale s per 16
/// taken as 2s+1 (lanes 0–3 of a group of 32 the first's, 4–7 the second's); per super-block
/// <c>fma(d_w·d_a, lane, acc)</c>, and the folded total times ⅛.
/// </summary>
public sealed class IQ2_SDot : IVecDot
{
    const int BlockBytes = 82;
    const int SignsOffset = 34;
    const int QhOffset = 66;
    const int ScalesOffset = 74;

    public GgmlType WeightType => GgmlType.IQ2_S;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        IqSuperBlocks.Dot<Groups>(weights, activations, n, BlockBytes, 0.125f, width);

    readonly struct Groups : IIqGroups
    {
        public void Add(ReadOnlySpan<byte> w, ReadOnlySpan<sbyte> q8, Span<sbyte> q, Span<int> sums, KernelWidth width)
        {
            var grids = Iq2Grids.Iq2S;
            for (var ib = 0; ib < 8; ib++)
            {
                var qh = w[QhOffset + ib];
                for (var l = 0; l < 4; l++)
                {
                    var index = w[2 + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300);
                    IqGridExpand.Signed8(grids[index], w[SignsOffset + 4 * ib + l], q.Slice(8 * l, 8), width);
                }
                var scales = w[ScalesOffset + ib];
                Avx2DotOrder.AddHalves(q, q8.Slice(32 * ib, 32), 2 * (scales & 0xF) + 1, 2 * (scales >> 4) + 1, sums, width);
            }
        }
    }
}
