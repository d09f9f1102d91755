using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F32 weights against F32 activations as llama.cpp's x86 build multiplies them, at the width it was built for
/// (<see cref="KernelWidth.Vector512"/>: AVX-512; otherwise AVX2): a batch through llamafile's tinyBLAS
/// (<see cref="TinyBlasOrder"/>: 16 or 8 lanes) when it applies, one token (or a row length tinyBLAS refuses)
/// through <c>ggml_vec_dot_f32</c> (<see cref="FloatDotOrder"/>, the tail added in float).
/// </summary>
public sealed unsafe class F32Dot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.F32;

    public GgmlType ActivationType => GgmlType.F32;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        MemoryMarshal.AsBytes(x).CopyTo(destination);

    /// <summary><c>ggml_vec_dot_f32</c>.</summary>
    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, n * sizeof(float));
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, n * sizeof(float));
        fixed (byte* x = weights, y = activations)
        {
            return FloatVecDot.Dot<F32Row, F32Row>(x, y, n, doubleTail: false, width);
        }
    }

    public bool CanMultiply(KernelWidth width) => width == KernelWidths.Current;

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        FloatMatrix.Multiply<F32Row, F32Row>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride, doubleTail: false, KernelWidths.Current);
}
