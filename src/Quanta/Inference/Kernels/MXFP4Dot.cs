using System.Buffers.Binary;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// MXFP4 weights against Q8_0 activations (<c>ggml_vec_dot_mxfp4_q8_0</c>, AVX2 order, as IQ4_NL's): E2M1 codes read
/// through <c>kvalues_mxfp4</c> (doubled values, hence the halved E8M0 scale), eight exact lane sums per block
/// (<see cref="Avx2DotOrder"/>), <c>fma(d_a·e8m0_half(e), lane, acc)</c> into two accumulators for even and odd blocks,
/// added lane by lane before the fold; an odd last block is summed apart as ggml's tail loop does,
/// <c>sum += d·sumi</c> (an fma in GCC's build).
/// </summary>
public sealed class MXFP4Dot : IVecDot
{
    const int BlockBytes = 17;

    public GgmlType WeightType => GgmlType.MXFP4;

    public GgmlType ActivationType => GgmlType.Q8_0;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_0Activations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        Span<float> acc = stackalloc float[2 * Avx2DotOrder.Lanes];
        acc.Clear();
        var blocks = n / 32;
        var paired = blocks & ~1;
        for (var b = 0; b < paired; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_0Activations.BlockBytes, Q8_0Activations.BlockBytes);
            Unpack(w, q);
            sums.Clear();
            Avx2DotOrder.AddGroup(q, IntegerDot.Signed(a.Slice(2, 32)), 1, sums, width);
            Avx2DotOrder.Accumulate(Scale(w, a), sums, acc.Slice((b & 1) * Avx2DotOrder.Lanes, Avx2DotOrder.Lanes));
        }
        for (var l = 0; l < Avx2DotOrder.Lanes; l++)
        {
            acc[l] += acc[Avx2DotOrder.Lanes + l];
        }
        var sum = Avx2DotOrder.Sum(acc[..Avx2DotOrder.Lanes]);
        for (var b = paired; b < blocks; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var a = activations.Slice(b * Q8_0Activations.BlockBytes, Q8_0Activations.BlockBytes);
            Unpack(w, q);
            var sumi = 0;
            for (var j = 0; j < 32; j++)
            {
                sumi += q[j] * (sbyte)a[2 + j];
            }
            sum = MathF.FusedMultiplyAdd(Scale(w, a), sumi, sum);
        }
        return sum;
    }

    static float Scale(ReadOnlySpan<byte> block, ReadOnlySpan<byte> activations) =>
        Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(activations)) * Fp4.E8M0ToFloatHalf(block[0]);

    /// <summary>The block's 32 doubled E2M1 values in element order (low nibbles first, then high nibbles).</summary>
    static void Unpack(ReadOnlySpan<byte> block, Span<sbyte> q)
    {
        var values = Fp4.Values;
        for (var j = 0; j < 16; j++)
        {
            q[j] = values[block[1 + j] & 0xF];
            q[j + 16] = values[block[1 + j] >> 4];
        }
    }
}
