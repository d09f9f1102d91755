using System.Runtime.Intrinsics;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// <c>ggml_vec_dot_f32</c> as the oracle's GCC build (<c>-O3 -march=native</c> on AVX-512, February 2025
/// ggml-cpu) computes it, which clip.cpp takes for every F32 product tinyBLAS refuses (attention's <c>K·Q</c> when
/// the position count is not a multiple of 4, <c>V·P</c> when it is not a multiple of 16). The whole 64-element
/// steps go through four 16-lane fused multiply-add registers folded as <c>GGML_F32x16_REDUCE</c>
/// (<see cref="FloatDotOrder"/> at 512 bits). The leftover loop <c>sumf += x[i]*y[i]</c> is vectorised by GCC
/// (read from the disassembly of <c>libggml-cpu.so</c>): products of 16, then of 8, elements are taken unfused and
/// added to the sum one by one in order, and only the last 0–7 elements are fused multiply-adds.
/// </summary>
internal static unsafe class Avx512VecDotOrder
{
    const int Step = 64;

    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, x.Length);
        var n = x.Length;
        var whole = n - (n % Step);
        float sum;
        fixed (float* px = x, py = y)
        {
            sum = whole == 0 ? 0f
                : Vector512.IsHardwareAccelerated ? FloatVecDot.Dot<F32Row, F32Row>(px, py, whole, doubleTail: false, KernelWidth.Vector512)
                : FloatVecDot.Scalar<F32Row, F32Row>(px, py, whole, doubleTail: false, Step);
        }
        var i = whole;
        for (; i + 16 <= n; i += 16)
        {
            sum = AddProducts(x, y, i, 16, sum);
        }
        if (n - i >= 8)
        {
            sum = AddProducts(x, y, i, 8, sum);
            i += 8;
        }
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(x[i], y[i], sum);
        }
        return sum;
    }

    /// <summary>The vectorised leftover chunk: every product rounded first, then added in element order.</summary>
    static float AddProducts(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int from, int count, float sum)
    {
        for (var i = from; i < from + count; i++)
        {
            var product = x[i] * y[i];
            sum += product;
        }
        return sum;
    }
}
