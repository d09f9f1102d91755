using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The eight groups of 32 weights of one IQ2/IQ3 super-block: expands each group's grid points and signs into
/// <c>q</c> and adds its scaled products with <c>q8</c> into the eight lane sums (<see cref="Avx2DotOrder"/>).
/// </summary>
internal interface IIqGroups
{
    void Add(ReadOnlySpan<byte> w, ReadOnlySpan<sbyte> q8, Span<sbyte> q, Span<int> sums, KernelWidth width);
}

/// <summary>
/// The super-block loop the IQ2 and IQ3 kernels share (ggml-cpu's AVX2 <c>vec_dot_iq*_q8_K</c>): per super-block the
/// groups' lane sums, then <c>fma(d_w·d_a, lane, acc)</c> with d_w the block's fp16 scale and d_a the Q8_K scale,
/// and the folded total times the type's constant factor.
/// </summary>
internal static class IqSuperBlocks
{
    public static float Dot<TGroups>(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, int blockBytes, float factor, KernelWidth width)
        where TGroups : struct, IIqGroups
    {
        Span<sbyte> q = stackalloc sbyte[32];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * blockBytes, blockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            sums.Clear();
            default(TGroups).Add(w, IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256)), q, sums, width);
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * BinaryPrimitives.ReadSingleLittleEndian(a);
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return factor * Avx2DotOrder.Sum(acc);
    }
}
