using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F16 weights as llama.cpp's x86 build multiplies them, at the width it was built for (<see cref="KernelWidth.Vector512"/>:
/// AVX-512; otherwise AVX2). F16's <c>vec_dot_type</c> is F16, so ggml first rounds the float activations to F16; here
/// they are rounded the same way but kept widened to float32 (exact), so that a batch's tiles do not widen every
/// token again for every chunk of rows: <see cref="ActivationType"/> is therefore F32. Then a batch goes through
/// llamafile's tinyBLAS (<see cref="TinyBlasOrder"/>) when it applies, one token through <c>ggml_vec_dot_f16</c>
/// (<see cref="FloatDotOrder"/>, the tail added in double).
/// </summary>
public sealed unsafe class F16Dot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.F16;

    /// <summary>F32 storage of values rounded to F16 (see the class summary).</summary>
    public GgmlType ActivationType => GgmlType.F32;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width)
    {
        var y = MemoryMarshal.Cast<byte, float>(destination)[..x.Length];
        var i = 0;
        if (width == KernelWidth.Vector512)
        {
            for (; i + 16 <= x.Length; i += 16)
            {
                Fp16.Lanes.ToFloat(Fp16.Lanes.FromFloat(Vector512.Create(x[i..]))).CopyTo(y[i..]);
            }
        }
        else if (width == KernelWidth.Vector256)
        {
            for (; i + 8 <= x.Length; i += 8)
            {
                Fp16.Lanes.ToFloat(Fp16.Lanes.FromFloat(Vector256.Create(x[i..]))).CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            y[i] = Fp16.ToFloat(Fp16.FromFloat(x[i]));
        }
    }

    /// <summary><c>ggml_vec_dot_f16</c> of an F16 row and activations from <see cref="QuantizeActivations"/>.</summary>
    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, n * sizeof(ushort));
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, n * sizeof(float));
        fixed (byte* x = weights, y = activations)
        {
            return FloatVecDot.Dot<F16Row, F32Row>(x, y, n, doubleTail: true, width);
        }
    }

    /// <summary><c>ggml_vec_dot_f16</c> of two F16 rows (attention over the F16 value cache).</summary>
    public static float Dot(ReadOnlySpan<ushort> x, ReadOnlySpan<ushort> y, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        fixed (ushort* px = x, py = y)
        {
            return FloatVecDot.Dot<F16Row, F16Row>(px, py, x.Length, doubleTail: true, width);
        }
    }

    public bool CanMultiply(KernelWidth width) => width == KernelWidths.Current;

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        FloatMatrix.Multiply<F16Row>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride, doubleTail: true, KernelWidths.Current);
}
