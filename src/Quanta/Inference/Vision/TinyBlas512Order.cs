using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// The float order of llamafile's <c>tinyBLAS</c> in an AVX-512 build of ggml-cpu (the oracle's build:
/// <c>-march=native</c> on an AVX-512 machine), which ggml's <c>mul_mat</c> takes for F32×F32 and F16×F16 products
/// whose row length is a multiple of 16: sixteen lanes, lane l accumulating elements i ≡ l (mod 16) by fused
/// multiply-add, then GCC's <c>_mm512_reduce_add_ps</c> (upper eight + lower eight, upper four + lower four, then
/// pairs). Other lengths fall back to <c>ggml_vec_dot_f32</c>/<c>_f16</c> (Kernels' F32Dot/F16Dot).
/// </summary>
internal static class TinyBlas512Order
{
    public const int Lanes = 16;

    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Span<float> acc = stackalloc float[Lanes];
        acc.Clear();
        for (var i = 0; i < x.Length; i += Lanes)
        {
            for (var l = 0; l < Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(x[i + l], y[i + l], acc[l]);
            }
        }
        return TinyBlasOrder.Sum(acc);
    }
}
