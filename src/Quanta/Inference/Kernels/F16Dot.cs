using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F16 weights against activations rounded to F16 (<c>ggml_vec_dot_f16</c>; F16's <c>vec_dot_type</c> is F16, so
/// ggml rounds the float activations first). Products in float32, in <see cref="FloatDotOrder"/>.
/// </summary>
public sealed class F16Dot : IVecDot
{
    public GgmlType WeightType => GgmlType.F16;

    public GgmlType ActivationType => GgmlType.F16;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Fp16.FromFloat(x, MemoryMarshal.Cast<byte, ushort>(destination)[..x.Length]);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        Dot(MemoryMarshal.Cast<byte, ushort>(weights)[..n], MemoryMarshal.Cast<byte, ushort>(activations)[..n], width);

    public static float Dot(ReadOnlySpan<ushort> x, ReadOnlySpan<ushort> y, KernelWidth width)
    {
        Span<float> acc = stackalloc float[FloatDotOrder.Lanes];
        var whole = x.Length - x.Length % FloatDotOrder.Lanes;
        if (width == KernelWidth.Scalar)
        {
            acc.Clear();
            for (var i = 0; i < whole; i += 32)
            {
                for (var l = 0; l < 32; l++)
                {
                    acc[l] = MathF.FusedMultiplyAdd(Fp16.ToFloat(x[i + l]), Fp16.ToFloat(y[i + l]), acc[l]);
                }
            }
        }
        else
        {
            // Eight lanes at a time at either width: a 512-bit register would only regroup the same 32 sums.
            Span<Vector256<float>> a = stackalloc Vector256<float>[4];
            a.Clear();
            for (var i = 0; i < whole; i += 32)
            {
                for (var k = 0; k < 2; k++)
                {
                    var (xLow, xHigh) = Vector256.Widen(Vector256.Create(x.Slice(i + 16 * k, 16)));
                    var (yLow, yHigh) = Vector256.Widen(Vector256.Create(y.Slice(i + 16 * k, 16)));
                    a[2 * k] = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(xLow), Fp16.Lanes.ToFloat(yLow), a[2 * k]);
                    a[2 * k + 1] = Vector256.FusedMultiplyAdd(Fp16.Lanes.ToFloat(xHigh), Fp16.Lanes.ToFloat(yHigh), a[2 * k + 1]);
                }
            }
            for (var k = 0; k < 4; k++)
            {
                a[k].CopyTo(acc[(8 * k)..]);
            }
        }
        double sum = FloatDotOrder.Reduce(acc);
        for (var i = whole; i < x.Length; i++)
        {
            sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        }
        return (float)sum;
    }
}
