using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// TQ2_0 weights against Q8_K activations (<c>ggml_vec_dot_tq2_0_q8_K</c>): 2-bit trits, four to a byte, in
/// <c>dequantize_row_tq2_0</c>'s order (byte m of each 32 holds elements m, m+32, m+64, m+96 of its 128), summed as
/// <see cref="TernaryDot"/> does.
/// </summary>
public sealed class TQ2_0Dot : IVecDot
{
    const int BlockBytes = 66;

    public GgmlType WeightType => GgmlType.TQ2_0;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> trits = stackalloc sbyte[256];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            Expand(w[..64], trits, width);
            TernaryDot.AddBlock(trits, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), TernaryDot.Scale(w, 64), acc, width);
        }
        return Avx2DotOrder.Sum(acc);
    }

    static void Expand(ReadOnlySpan<byte> qs, Span<sbyte> trits, KernelWidth width)
    {
        for (var half = 0; half < 2; half++)
        {
            var chunk = qs.Slice(32 * half, 32);
            if (width == KernelWidth.Scalar)
            {
                for (var l = 0; l < 4; l++)
                {
                    for (var m = 0; m < 32; m++)
                    {
                        trits[128 * half + 32 * l + m] = (sbyte)((chunk[m] >> (2 * l)) & 3);
                    }
                }
                continue;
            }
            var v = Vector256.Create(chunk);
            var output = MemoryMarshal.Cast<sbyte, byte>(trits);
            for (var l = 0; l < 4; l++)
            {
                (Vector256.ShiftRightLogical(v, 2 * l) & Vector256.Create((byte)3)).CopyTo(output[(128 * half + 32 * l)..]);
            }
        }
    }
}
