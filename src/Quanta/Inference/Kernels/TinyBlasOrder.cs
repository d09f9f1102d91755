using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The summation order of llamafile's <c>tinyBLAS</c> (ggml-cpu's <c>llamafile_sgemm</c>) for float, F16 and BF16
/// weights: one register of <see cref="Lanes"/> fused multiply-add sums per result (16 lanes with AVX-512, 8 with
/// AVX2), lane <c>l</c> taking elements <c>i ≡ l (mod Lanes)</c>, then <c>hsum</c>: a halving tree (upper half added
/// to lower half until one lane is left), which is both <c>_mm512_reduce_add_ps</c> and the AVX
/// <c>hsum(__m256)</c>. llama.cpp takes it for a batch of two or more tokens when the row length is a multiple of
/// <see cref="Lanes"/> and the row count a multiple of 4; otherwise <see cref="FloatDotOrder"/>.
/// </summary>
internal static class TinyBlasOrder
{
    /// <summary>tinyBLAS's <c>KN</c> at <paramref name="width"/> (the scalar twins follow the 256-bit build).</summary>
    public static int Lanes(KernelWidth width) => width == KernelWidth.Vector512 ? 16 : 8;

    /// <summary>Whether llama.cpp multiplies a batch of <paramref name="tokens"/> with rows of <paramref name="n"/> in this order.</summary>
    public static bool Applies(int tokens, int n, KernelWidth width) => tokens >= 2 && n % Lanes(width) == 0;

    /// <summary>The halving tree over 4, 8 or 16 lanes (the scalar twin).</summary>
    public static float Sum(Span<float> lanes)
    {
        for (var half = lanes.Length / 2; half >= 1; half /= 2)
        {
            for (var l = 0; l < half; l++)
            {
                lanes[l] += lanes[half + l];
            }
        }
        return lanes[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        // (s0 + s2, s1 + s3) by a shuffle within the register: the JIT spills Vector64 halves to the stack.
        var t = s + Vector128.Shuffle(s, Vector128.Create(2, 3, 2, 3));
        return t.ToScalar() + t.GetElement(1);
    }
}
