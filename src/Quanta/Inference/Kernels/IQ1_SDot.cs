using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ1_S weights against Q8_K activations (<c>ggml_vec_dot_iq1_s_q8_K</c>, AVX2 order): per 8 weights an 11-bit index
/// into <c>iq1s_grid</c> (points of −1, 0, 1), per 32 a 3-bit scale s taken as 2s+1 and a sign for the shared shift
/// ±⅛. The grid products go to eight lanes (<see cref="Avx2DotOrder"/>), <c>fma(d_w·d_a, lane, acc)</c>; the shift
/// times the activations' block sums (<c>bsums</c>) is one integer per super-block, added as
/// <c>accum1 += d·sumi1</c> (an fma in GCC's build); the result is <c>hsum(acc) + ⅛·accum1</c>.
/// </summary>
public sealed class IQ1_SDot : IVecDot
{
    const int BlockBytes = 50;
    const int QhOffset = 34;

    public GgmlType WeightType => GgmlType.IQ1_S;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        var shifts = 0f;
        var grids = Iq1Grids.Iq1S;
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            sums.Clear();
            var shifted = 0;
            for (var ib = 0; ib < 8; ib++)
            {
                var qh = BinaryPrimitives.ReadUInt16LittleEndian(w[(QhOffset + 2 * ib)..]);
                for (var l = 0; l < 4; l++)
                {
                    IqGridExpand.Signed8(grids[w[2 + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)], 0, q.Slice(8 * l, 8), width);
                }
                var scale = 2 * ((qh >> 12) & 7) + 1;
                Avx2DotOrder.AddGroup(q, q8.Slice(32 * ib, 32), scale, sums, width);
                var blockSum = BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * ib)..])
                    + BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * ib + 2)..]);
                shifted += blockSum * ((qh & 0x8000) != 0 ? -1 : 1) * scale;
            }
            var d = BinaryPrimitives.ReadSingleLittleEndian(a) * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w));
            Avx2DotOrder.Accumulate(d, sums, acc);
            shifts = MathF.FusedMultiplyAdd(d, shifted, shifts);
        }
        return Avx2DotOrder.Sum(acc) + (0.125f * shifts);
    }
}
