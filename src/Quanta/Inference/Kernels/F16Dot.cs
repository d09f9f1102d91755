using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// F16 weights as llama.cpp's x86 build multiplies them, at the width it was built for (<see cref="KernelWidth.Vector512"/>:
/// AVX-512; otherwise AVX2), against activations rounded to F16 (F16's <c>vec_dot_type</c>; the KV cache stores its
/// F16 keys with the same conversion): a batch through llamafile's tinyBLAS (<see cref="TinyBlasOrder"/>) when it
/// applies, one token through <c>ggml_vec_dot_f16</c> (<see cref="FloatDotOrder"/>, the tail added in double).
/// </summary>
public sealed unsafe class F16Dot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.F16;

    public GgmlType ActivationType => GgmlType.F16;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Fp16.FromFloat(x, MemoryMarshal.Cast<byte, ushort>(destination)[..x.Length]);

    /// <summary>
    /// <c>ggml_vec_dot_f16</c> in the AVX2 order at every width (see <see cref="Dot(ReadOnlySpan{ushort}, ReadOnlySpan{ushort}, KernelWidth)"/>):
    /// attention's keys go through here; F16 weights go through <see cref="Multiply"/>, whose single tokens take the
    /// width's own order.
    /// </summary>
    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        Dot(MemoryMarshal.Cast<byte, ushort>(weights)[..n], MemoryMarshal.Cast<byte, ushort>(activations)[..n], width);

    /// <summary>
    /// Two F16 rows (attention's probabilities times the F16 value cache) in the AVX2 build's <c>ggml_vec_dot_f16</c>
    /// order at every width: over a KV length padded to 32 it groups the products as llama.cpp's batched attention
    /// does (tinyBLAS over the padded length) up to the last add, where the AVX-512 order would add every product in
    /// double; the golden logits match it bit for bit.
    /// </summary>
    public static float Dot(ReadOnlySpan<ushort> x, ReadOnlySpan<ushort> y, KernelWidth width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        fixed (ushort* px = x, py = y)
        {
            return FloatVecDot.Dot<F16Row, F16Row>(px, py, x.Length, doubleTail: true, width == KernelWidth.Vector512 ? KernelWidth.Vector256 : width);
        }
    }

    public bool CanMultiply(KernelWidth width) => width == KernelWidths.Current;

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        FloatMatrix.Multiply<F16Row, F16Row>(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride, doubleTail: true, KernelWidths.Current);

    /// <summary>
    /// <see cref="Multiply"/> with the F16 activations already widened to float (<paramref name="activations"/>:
    /// <paramref name="tokens"/> rows of <paramref name="n"/>), so a caller that splits the rows into chunks widens
    /// them once and not once per chunk.
    /// </summary>
    internal static void MultiplyWidened(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<float> activations, int tokens, int n, Span<float> output, int outputStride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, tokens * n);
        fixed (float* b = activations)
        {
            FloatMatrix.MultiplyFloat<F16Row>(weights, rowBytes, rows, b, n, tokens, n, output, outputStride, doubleTail: true, KernelWidths.Current);
        }
    }

    /// <summary>
    /// <see cref="MultiplyWidened(ReadOnlySpan{byte}, int, int, ReadOnlySpan{float}, int, int, Span{float}, int)"/> with the
    /// widened activations also given times 2^112 (<paramref name="scaled"/>, <see cref="ScaleActivations"/>), so that
    /// the 512-bit tiles can convert the weights as they load them (<see cref="FloatMatrix.MultiplyHalves(ReadOnlySpan{byte}, int, int, float*, float*, long, int, int, Span{float}, int, KernelWidth, Span{byte})"/>);
    /// <paramref name="rowGroupChecks"/> as there.
    /// </summary>
    internal static void MultiplyWidened(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<float> activations, ReadOnlySpan<float> scaled, int tokens, int n, Span<float> output, int outputStride, Span<byte> rowGroupChecks = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, tokens * n);
        ArgumentOutOfRangeException.ThrowIfLessThan(scaled.Length, tokens * n);
        fixed (float* b = activations, s = scaled)
        {
            FloatMatrix.MultiplyHalves(weights, rowBytes, rows, b, s, n, tokens, n, output, outputStride, KernelWidths.Current, rowGroupChecks);
        }
    }

    /// <summary>
    /// One token (generation) against <paramref name="rows"/> F16 rows in <c>ggml_vec_dot_f16</c>'s order for the width:
    /// <paramref name="activations"/> are the token's F16-rounded activations widened to float and
    /// <paramref name="scaled"/> the same times 2^112 (<see cref="F16ScaledDot.Scale"/>), both made once per matrix by
    /// the caller, so only the weights are converted here, the cheap way (<see cref="F16ScaledDot"/>).
    /// </summary>
    internal static void MultiplyOneToken(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<float> activations, ReadOnlySpan<float> scaled, int n, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(weights.Length, ((rows - 1) * rowBytes) + (n * sizeof(ushort)));
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(scaled.Length, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, rows);
        var width = KernelWidths.Current;
        fixed (byte* w = weights)
        fixed (float* x = activations, s = scaled, y = output)
        {
            for (var r = 0; r < rows; r++)
            {
                y[r] = F16ScaledDot.Dot((ushort*)(w + ((long)r * rowBytes)), x, s, n, doubleTail: true, width);
            }
        }
    }

    /// <summary>Widened activations times 2^112 (<see cref="F16ScaledDot.Scale"/>), for <see cref="MultiplyOneToken"/>.</summary>
    internal static void ScaleActivations(ReadOnlySpan<float> activations, Span<float> scaled)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scaled.Length, activations.Length);
        fixed (float* x = activations, s = scaled)
        {
            F16ScaledDot.Scale(x, s, activations.Length);
        }
    }

    /// <summary>Activations already rounded to F16 (<see cref="QuantizeActivations"/>), widened to float.</summary>
    internal static void WidenActivations(ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> wide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(activations.Length, ((tokens - 1) * activationRowBytes) + (n * sizeof(ushort)));
        ArgumentOutOfRangeException.ThrowIfLessThan(wide.Length, tokens * n);
        fixed (byte* x = activations)
        fixed (float* y = wide)
        {
            FloatMatrix.WidenActivations(x, activationRowBytes, tokens, n, y, KernelWidths.Current);
        }
    }
}
