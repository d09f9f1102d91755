using System.Runtime.CompilerServices;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The summation order of ggml's float dot products (<c>ggml_vec_dot_f32</c> / <c>_f16</c> with AVX): 32 running
/// sums, lane <c>l</c> taking elements <c>i ≡ l (mod 32)</c> by fused multiply-add, folded as
/// <c>GGML_F32x8_REDUCE</c> folds its four 8-lane accumulators; elements past the last whole 32 are added in
/// double precision. Every width computes exactly this, so the vector paths agree with the scalar twin bit for bit.
/// </summary>
internal static class FloatDotOrder
{
    public const int Lanes = 32;

    /// <summary>Folds the 32 running sums: accumulators (0+2), (1+3), then the two halves, then 8 lanes to one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce(Span<float> acc)
    {
        for (var l = 0; l < 8; l++)
        {
            acc[l] += acc[16 + l];
            acc[8 + l] += acc[24 + l];
        }
        for (var l = 0; l < 8; l++)
        {
            acc[l] += acc[8 + l];
        }
        // _mm_add_ps(low, high), then two horizontal adds: (t0 + t1) + (t2 + t3).
        var t0 = acc[0] + acc[4];
        var t1 = acc[1] + acc[5];
        var t2 = acc[2] + acc[6];
        var t3 = acc[3] + acc[7];
        return (t0 + t1) + (t2 + t3);
    }
}
