using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The summation order of ggml's float dot products, <c>ggml_vec_dot_f32</c> / <c>_f16</c>, for the SIMD width
/// llama.cpp was built with: four accumulators of <c>GGML_F32_EPR</c> lanes (16 with AVX-512, 8 with AVX2), lane
/// <c>l</c> of the <see cref="Lanes"/> running sums taking elements <c>i ≡ l (mod Lanes)</c> by fused multiply-add,
/// folded as <c>GGML_F32x16_REDUCE</c> / <c>GGML_F32x8_REDUCE</c> fold them: accumulators (0+2) and (1+3), then the
/// two, then the lanes of one register (<c>_mm512_reduce_add_ps</c>'s halving tree, or AVX2's <c>_mm_hadd_ps</c>
/// pair). <see cref="KernelWidth.Vector512"/> takes the AVX-512 order; <see cref="KernelWidth.Vector256"/> and the
/// scalar twins the AVX2 one. Elements past the last whole <see cref="Lanes"/> are the caller's (ggml adds them in
/// double for F16, in float for F32).
/// </summary>
internal static class FloatDotOrder
{
    /// <summary><c>GGML_F32_STEP</c>: the running sums at <paramref name="width"/>.</summary>
    public static int Lanes(KernelWidth width) => width == KernelWidth.Vector512 ? 64 : 32;

    /// <summary>
    /// The scalar twin of the fold: <paramref name="acc"/> holds <see cref="Lanes"/> sums (four registers of a quarter
    /// each, in order); it is overwritten.
    /// </summary>
    public static float Reduce(Span<float> acc)
    {
        var epr = acc.Length / 4;
        for (var l = 0; l < epr; l++)
        {
            acc[l] += acc[(2 * epr) + l];
            acc[epr + l] += acc[(3 * epr) + l];
        }
        for (var l = 0; l < epr; l++)
        {
            acc[l] += acc[epr + l];
        }
        if (epr == 16)
        {
            return TinyBlasOrder.Sum(acc[..16]);
        }
        // _mm_add_ps(low, high), then two horizontal adds: (t0 + t1) + (t2 + t3).
        var t0 = acc[0] + acc[4];
        var t1 = acc[1] + acc[5];
        var t2 = acc[2] + acc[6];
        var t3 = acc[3] + acc[7];
        return (t0 + t1) + (t2 + t3);
    }

    /// <summary><c>GGML_F32x16_REDUCE</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3) =>
        TinyBlasOrder.Sum((a0 + a2) + (a1 + a3));

    /// <summary><c>GGML_F32x8_REDUCE</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3)
    {
        var s = (a0 + a2) + (a1 + a3);
        var t = s.GetLower() + s.GetUpper();
        return (t.GetElement(0) + t.GetElement(1)) + (t.GetElement(2) + t.GetElement(3));
    }

    /// <summary>
    /// <c>GGML_F32x8_REDUCE</c> of four 8-lane sums held two to an AVX-512 register (<paramref name="a01"/> = sums 0 | 1,
    /// <paramref name="a23"/> = 2 | 3): lane by lane <c>a01 + a23</c> is (0+2 | 1+3), and its halves added are the
    /// fold's next step, so the result is the four-register fold's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReducePairs(Vector512<float> a01, Vector512<float> a23)
    {
        var s = a01 + a23;
        var t = s.GetLower() + s.GetUpper();
        var u = t.GetLower() + t.GetUpper();
        return (u.GetElement(0) + u.GetElement(1)) + (u.GetElement(2) + u.GetElement(3));
    }
}
