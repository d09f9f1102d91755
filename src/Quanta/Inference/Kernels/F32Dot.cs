using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F32 weights against F32 activations in the orders of llama.cpp's AVX2 build at every width: a batch through
/// llamafile's tinyBLAS (<see cref="TinyBlasOrder"/>, 8 lanes) when it applies, one token (or a row length tinyBLAS
/// refuses) through <c>ggml_vec_dot_f32</c> (<see cref="FloatDotOrder"/>, 32 lanes, the tail added in float).
/// </summary>
/// <remarks>
/// The AVX-512 orders (16 and 64 lanes, <see cref="FloatMatrix"/> at <see cref="KernelWidth.Vector512"/>) are
/// implemented and tested, but the golden perplexity and KL-divergence references of F32 models
/// (Fixtures/runtime, Fixtures/tiny-trained) agree with the 256-bit orders and move with the 512-bit ones, so F32
/// stays on them until those references are remade on a known AVX-512 build.
/// </remarks>
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
            return FloatVecDot.Dot<F32Row, F32Row>(x, y, n, doubleTail: false, Order(width));
        }
    }

    /// <summary><c>ggml_vec_dot_f32</c> of two float rows, in the order F32 weights take at <paramref name="width"/>.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        fixed (float* px = x, py = y)
        {
            return FloatVecDot.Dot<F32Row, F32Row>(px, py, x.Length, doubleTail: false, Order(width));
        }
    }

    public bool CanMultiply(KernelWidth width) => width == KernelWidths.Current;

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        FloatMatrix.Multiply<F32Row, F32Row>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride, doubleTail: false, Order(KernelWidths.Current));

    /// <summary>The width whose order F32 follows (see the remarks).</summary>
    internal static KernelWidth Order(KernelWidth width) => width == KernelWidth.Vector512 ? KernelWidth.Vector256 : width;
}
