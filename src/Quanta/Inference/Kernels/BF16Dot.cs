using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// BF16 weights against activations rounded to BF16 (BF16's <c>vec_dot_type</c>), as ggml-cpu's AVX2
/// <c>ggml_vec_dot_bf16</c> sums them: four 8-lane accumulators fed by a rounded product and a separate add (no
/// fused multiply-add), folded as (c1 + c3) + (c2 + c4), then the halves, then (0+2) + (1+3); elements past the
/// last whole 32 added in double.
/// </summary>
public sealed class BF16Dot : IVecDot
{
    public GgmlType WeightType => GgmlType.BF16;

    public GgmlType ActivationType => GgmlType.BF16;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        BFloat16.FromFloat(x, MemoryMarshal.Cast<byte, ushort>(destination)[..x.Length]);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        var x = MemoryMarshal.Cast<byte, ushort>(weights)[..n];
        var y = MemoryMarshal.Cast<byte, ushort>(activations)[..n];
        Span<float> c = stackalloc float[32];
        var whole = n - n % 32;
        if (width == KernelWidth.Scalar)
        {
            c.Clear();
            for (var i = 0; i < whole; i += 32)
            {
                for (var l = 0; l < 32; l++)
                {
                    c[l] = (BFloat16.ToFloat(x[i + l]) * BFloat16.ToFloat(y[i + l])) + c[l];
                }
            }
        }
        else
        {
            Span<Vector256<float>> a = stackalloc Vector256<float>[4];
            a.Clear();
            for (var i = 0; i < whole; i += 32)
            {
                for (var k = 0; k < 2; k++)
                {
                    var (xLow, xHigh) = Vector256.Widen(Vector256.Create(x.Slice(i + 16 * k, 16)));
                    var (yLow, yHigh) = Vector256.Widen(Vector256.Create(y.Slice(i + 16 * k, 16)));
                    a[2 * k] = (Vector256.ShiftLeft(xLow, 16).AsSingle() * Vector256.ShiftLeft(yLow, 16).AsSingle()) + a[2 * k];
                    a[2 * k + 1] = (Vector256.ShiftLeft(xHigh, 16).AsSingle() * Vector256.ShiftLeft(yHigh, 16).AsSingle()) + a[2 * k + 1];
                }
            }
            for (var k = 0; k < 4; k++)
            {
                a[k].CopyTo(c[(8 * k)..]);
            }
        }
        Span<float> folded = stackalloc float[8];
        for (var l = 0; l < 8; l++)
        {
            folded[l] = (c[l] + c[16 + l]) + (c[8 + l] + c[24 + l]);
        }
        double sum = Avx2DotOrder.Sum(folded);
        for (var i = whole; i < n; i++)
        {
            sum += BFloat16.ToFloat(x[i]) * BFloat16.ToFloat(y[i]);
        }
        return (float)sum;
    }
}
