using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F32 weights against F32 activations as llama.cpp's x86 build multiplies them: llamafile's <c>tinyBLAS</c> with
/// 256-bit vectors when the row length is a multiple of 8 (eight lanes, lane l summing elements i ≡ l mod 8 by
/// fused multiply-add, folded as <c>hsum</c>), <c>ggml_vec_dot_f32</c>'s order otherwise (<see cref="FloatDotOrder"/>).
/// </summary>
public sealed class F32Dot : IVecDot
{
    public GgmlType WeightType => GgmlType.F32;

    public GgmlType ActivationType => GgmlType.F32;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        MemoryMarshal.AsBytes(x).CopyTo(destination);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        var x = MemoryMarshal.Cast<byte, float>(weights)[..n];
        var y = MemoryMarshal.Cast<byte, float>(activations)[..n];
        return n % Avx2DotOrder.Lanes == 0 ? TinyBlasDot(x, y, width) : Dot(x, y, width);
    }

    /// <summary>tinyBLAS's order: eight fused multiply-add lanes, then <see cref="Avx2DotOrder.Sum"/>.</summary>
    public static float TinyBlasDot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, KernelWidth width)
    {
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        if (width == KernelWidth.Scalar)
        {
            acc.Clear();
            for (var i = 0; i < x.Length; i += 8)
            {
                for (var l = 0; l < 8; l++)
                {
                    acc[l] = MathF.FusedMultiplyAdd(x[i + l], y[i + l], acc[l]);
                }
            }
        }
        else
        {
            // Eight lanes at either width: sixteen would be another order.
            var sum = Vector256<float>.Zero;
            for (var i = 0; i < x.Length; i += 8)
            {
                sum = Vector256.FusedMultiplyAdd(Vector256.Create(x[i..]), Vector256.Create(y[i..]), sum);
            }
            sum.CopyTo(acc);
        }
        return Avx2DotOrder.Sum(acc);
    }

    /// <summary><c>ggml_vec_dot_f32</c>'s order (<see cref="FloatDotOrder"/>).</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, KernelWidth width)
    {
        Span<float> acc = stackalloc float[FloatDotOrder.Lanes];
        var whole = x.Length - x.Length % FloatDotOrder.Lanes;
        switch (width)
        {
            case KernelWidth.Vector512:
            {
                Vector512<float> a0 = default, a1 = default;
                for (var i = 0; i < whole; i += 32)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[i..]), Vector512.Create(y[i..]), a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x[(i + 16)..]), Vector512.Create(y[(i + 16)..]), a1);
                }
                a0.CopyTo(acc);
                a1.CopyTo(acc[16..]);
                break;
            }
            case KernelWidth.Vector256:
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var i = 0; i < whole; i += 32)
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(x[i..]), Vector256.Create(y[i..]), a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(x[(i + 8)..]), Vector256.Create(y[(i + 8)..]), a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(x[(i + 16)..]), Vector256.Create(y[(i + 16)..]), a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(x[(i + 24)..]), Vector256.Create(y[(i + 24)..]), a3);
                }
                a0.CopyTo(acc);
                a1.CopyTo(acc[8..]);
                a2.CopyTo(acc[16..]);
                a3.CopyTo(acc[24..]);
                break;
            }
            default:
                acc.Clear();
                for (var i = 0; i < whole; i += 32)
                {
                    for (var l = 0; l < 32; l++)
                    {
                        acc[l] = MathF.FusedMultiplyAdd(x[i + l], y[i + l], acc[l]);
                    }
                }
                break;
        }
        double sum = FloatDotOrder.Reduce(acc);
        for (var i = whole; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }
        return (float)sum;
    }
}
