using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// TQ1_0 weights against Q8_K activations (<c>ggml_vec_dot_tq1_0_q8_K</c>): five trits per byte in base 3, read as
/// ggml reads them (the byte times 3ⁿ wrapped to 8 bits, times 3, top bits), in <c>dequantize_row_tq1_0</c>'s order
/// (32 bytes × 5, then 16 bytes × 5, then the 4 <c>qh</c> bytes × 4), summed as <see cref="TernaryDot"/> does.
/// </summary>
public sealed class TQ1_0Dot : IVecDot
{
    const int BlockBytes = 54;
    const int QhOffset = 48;
    const int DOffset = 52;

    static ReadOnlySpan<byte> Powers => [1, 3, 9, 27, 81];

    public GgmlType WeightType => GgmlType.TQ1_0;

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
            Expand(w, trits, width);
            TernaryDot.AddBlock(trits, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), TernaryDot.Scale(w, DOffset), acc, width);
        }
        return Avx2DotOrder.Sum(acc);
    }

    static int Trit(byte stored, int power) => ((byte)(stored * power) * 3) >> 8;

    static void Expand(ReadOnlySpan<byte> block, Span<sbyte> trits, KernelWidth width)
    {
        if (width == KernelWidth.Scalar)
        {
            for (var n = 0; n < 5; n++)
            {
                for (var m = 0; m < 32; m++)
                {
                    trits[32 * n + m] = (sbyte)Trit(block[m], Powers[n]);
                }
            }
        }
        else
        {
            var v = Vector256.Create(block[..32]);
            var output = MemoryMarshal.Cast<sbyte, byte>(trits);
            for (var n = 0; n < 5; n++)
            {
                var (low, high) = Vector256.Widen(v * Vector256.Create(Powers[n]));
                var three = Vector256.Create((ushort)3);
                Vector256.Narrow(Vector256.ShiftRightLogical(low * three, 8), Vector256.ShiftRightLogical(high * three, 8)).CopyTo(output[(32 * n)..]);
            }
        }
        // The last 16 bytes and the 4 qh bytes: 96 values, the same arithmetic one byte at a time at every width.
        for (var n = 0; n < 5; n++)
        {
            for (var m = 0; m < 16; m++)
            {
                trits[160 + 16 * n + m] = (sbyte)Trit(block[32 + m], Powers[n]);
            }
        }
        for (var n = 0; n < 4; n++)
        {
            for (var j = 0; j < 4; j++)
            {
                trits[240 + 4 * n + j] = (sbyte)Trit(block[QhOffset + j], Powers[n]);
            }
        }
    }
}
