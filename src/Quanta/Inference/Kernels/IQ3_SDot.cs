using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ3_S weights against Q8_K activations (<c>ggml_vec_dot_iq3_s_q8_K</c>, AVX2 order): 9-bit indices into
/// <c>iq3s_grid</c> (eight low bits in <c>qs</c>, the ninth in <c>qh</c>), one stored sign bit per weight and a 4-bit
/// scale s per 32 taken as 2s+1; the lane sums (<see cref="Avx2DotOrder"/>) scaled by it and per super-block
/// <c>fma(d_w·d_a, lane, acc)</c>.
/// </summary>
public sealed class IQ3_SDot : IVecDot
{
    const int BlockBytes = 110;
    const int QhOffset = 66;
    const int SignsOffset = 74;
    const int ScalesOffset = 106;

    public GgmlType WeightType => GgmlType.IQ3_S;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        IqSuperBlocks.Dot<Groups>(weights, activations, n, BlockBytes, 1f, width);

    readonly struct Groups : IIqGroups
    {
        public void Add(ReadOnlySpan<byte> w, ReadOnlySpan<sbyte> q8, Span<sbyte> q, Span<int> sums, KernelWidth width)
        {
            var grids = Iq3Grids.Iq3S;
            for (var ib = 0; ib < 8; ib++)
            {
                var qh = w[QhOffset + ib];
                for (var l = 0; l < 4; l++)
                {
                    var i1 = w[2 + 8 * ib + 2 * l] | ((qh << (8 - 2 * l)) & 256);
                    var i2 = w[3 + 8 * ib + 2 * l] | ((qh << (7 - 2 * l)) & 256);
                    IqGridExpand.Signed8(grids[i1] | ((ulong)grids[i2] << 32), w[SignsOffset + 4 * ib + l], q.Slice(8 * l, 8), width);
                }
                var packed = w[ScalesOffset + ib / 2];
                var scale = (ib & 1) == 0 ? packed & 0xF : packed >> 4;
                Avx2DotOrder.AddGroup(q, q8.Slice(32 * ib, 32), 2 * scale + 1, sums, width);
            }
        }
    }
}
