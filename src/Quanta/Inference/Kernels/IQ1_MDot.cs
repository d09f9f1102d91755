using System.Buffers.Binary;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// IQ1_M weights against Q8_K activations (<c>ggml_vec_dot_iq1_m_q8_K</c>, AVX2 order): IQ1_S's grid with a 3-bit
/// scale (2s+1) per 16 weights and a shift sign per 8. Two sets of eight lanes (<see cref="Avx2DotOrder"/>): the grid
/// products, and the ±1 shifts times the activations, each per super-block <c>fma(d_a·d_w, lane, acc)</c>, where d_w is
/// the fp16 spread over the top nibbles of the four scale words; the result is <c>hsum(grid) + ⅛·hsum(shifts)</c>.
/// </summary>
public sealed class IQ1_MDot : IVecDot
{
    const int BlockBytes = 56;
    const int QhOffset = 32;
    const int ScalesOffset = 48;

    public GgmlType WeightType => GgmlType.IQ1_M;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<sbyte> shift = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<float> accShift = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        Span<int> shiftSums = stackalloc int[Avx2DotOrder.Lanes];
        Span<ushort> sc = stackalloc ushort[4];
        acc.Clear();
        accShift.Clear();
        var grids = Iq1Grids.Iq1S;
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            for (var i = 0; i < 4; i++)
            {
                sc[i] = BinaryPrimitives.ReadUInt16LittleEndian(w[(ScalesOffset + 2 * i)..]);
            }
            var scaleBits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000);
            sums.Clear();
            shiftSums.Clear();
            for (var ib = 0; ib < 8; ib++)
            {
                var qs = w.Slice(4 * ib, 4);
                for (var l = 0; l < 4; l++)
                {
                    var qh = w[QhOffset + 2 * ib + l / 2];
                    var high = (l & 1) == 0 ? (qh << 8) & 0x700 : (qh << 4) & 0x700;
                    IqGridExpand.Signed8(grids[qs[l] | high], 0, q.Slice(8 * l, 8), width);
                    var negative = (qh & ((l & 1) == 0 ? 0x08 : 0x80)) != 0;
                    shift.Slice(8 * l, 8).Fill(negative ? (sbyte)-1 : (sbyte)1);
                }
                var first = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1;
                var second = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
                Avx2DotOrder.AddHalves(q, q8.Slice(32 * ib, 32), first, second, sums, width);
                Avx2DotOrder.AddHalves(shift, q8.Slice(32 * ib, 32), first, second, shiftSums, width);
            }
            var d = BinaryPrimitives.ReadSingleLittleEndian(a) * Fp16.ToFloat((ushort)scaleBits);
            Avx2DotOrder.Accumulate(d, sums, acc);
            Avx2DotOrder.Accumulate(d, shiftSums, accShift);
        }
        return Avx2DotOrder.Sum(acc) + (0.125f * Avx2DotOrder.Sum(accShift));
    }
}
