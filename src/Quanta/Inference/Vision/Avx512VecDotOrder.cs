using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
                : Vector512.IsHardwareAccelerated ? Steps512(px, py, whole)
                : Vector256.IsHardwareAccelerated && Fma.IsSupported ? Steps256(px, py, whole)
                : StepsScalar(px, py, whole);
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

    /// <summary>The whole steps with AVX-512 registers.</summary>
    internal static float Steps512(float* x, float* y, int whole) =>
        FloatVecDot.Dot<F32Row, F32Row>(x, y, whole, doubleTail: false, KernelWidth.Vector512);

    /// <summary>
    /// The whole steps with each 16-lane register held as two 256-bit halves (lanes are independent, so the sums are
    /// the same), folded as <c>GGML_F32x16_REDUCE</c>: registers (0+2)+(1+3), then upper eight + lower eight, then
    /// the halving tree.
    /// </summary>
    internal static float Steps256(float* x, float* y, int whole)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        for (var i = 0; i < whole; i += Step)
        {
            a0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), a0);
            b0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), b0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 16), Vector256.Load(y + i + 16), a1);
            b1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 24), Vector256.Load(y + i + 24), b1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 32), Vector256.Load(y + i + 32), a2);
            b2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 40), Vector256.Load(y + i + 40), b2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 48), Vector256.Load(y + i + 48), a3);
            b3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 56), Vector256.Load(y + i + 56), b3);
        }
        var lower = (a0 + a2) + (a1 + a3);
        var upper = (b0 + b2) + (b1 + b3);
        return TinyBlasOrder.Sum(lower + upper);
    }

    /// <summary>The scalar twin: 64 running sums folded as above.</summary>
    internal static float StepsScalar(float* x, float* y, int whole) =>
        FloatVecDot.Scalar<F32Row, F32Row>(x, y, whole, doubleTail: false, Step);

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
