using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>A row of float-valued elements as the float kernels load it: float32 as is, F16 widened exactly.</summary>
internal unsafe interface IFloatRow
{
    static abstract float Load(void* row, int i);

    static abstract Vector256<float> Load256(void* row, int i);

    static abstract Vector512<float> Load512(void* row, int i);
}

internal readonly unsafe struct F32Row : IFloatRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(void* row, int i) => ((float*)row)[i];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(void* row, int i) => Vector256.Load((float*)row + i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(void* row, int i) => Vector512.Load((float*)row + i);
}

/// <summary>F16 elements; the conversion is exact, so loading converts (ggml's <c>_mm512_cvtph_ps</c>).</summary>
internal readonly unsafe struct F16Row : IFloatRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(void* row, int i) => Fp16.ToFloat(((ushort*)row)[i]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(void* row, int i) => HalfWidening.Load256((ushort*)row + i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(void* row, int i) => HalfWidening.Load512((ushort*)row + i);
}

/// <summary>
/// <c>ggml_vec_dot_f32</c> / <c>ggml_vec_dot_f16</c> over rows of any <see cref="IFloatRow"/> kind, in
/// <see cref="FloatDotOrder"/>, with the scalar twin beside the two vector paths.
/// </summary>
internal static unsafe class FloatVecDot
{
    /// <summary>
    /// The dot product of <paramref name="n"/> elements. <paramref name="doubleTail"/>: the elements past the last whole
    /// step are added in double (<c>ggml_vec_dot_f16</c>'s <c>ggml_float</c>); otherwise in float with a fused
    /// multiply-add (<c>ggml_vec_dot_f32</c>'s <c>sumf += x[i]*y[i]</c>, which GCC contracts).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot<TX, TY>(void* x, void* y, int n, bool doubleTail, KernelWidth width)
        where TX : IFloatRow
        where TY : IFloatRow
    {
        var lanes = FloatDotOrder.Lanes(width);
        var whole = n - (n % lanes);
        float reduced;
        switch (width)
        {
            case KernelWidth.Vector512:
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var i = 0; i < whole; i += 64)
                {
                    a0 = Vector512.FusedMultiplyAdd(TX.Load512(x, i), TY.Load512(y, i), a0);
                    a1 = Vector512.FusedMultiplyAdd(TX.Load512(x, i + 16), TY.Load512(y, i + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(TX.Load512(x, i + 32), TY.Load512(y, i + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(TX.Load512(x, i + 48), TY.Load512(y, i + 48), a3);
                }
                reduced = FloatDotOrder.Reduce(a0, a1, a2, a3);
                break;
            }
            case KernelWidth.Vector256:
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (var i = 0; i < whole; i += 32)
                {
                    a0 = Vector256.FusedMultiplyAdd(TX.Load256(x, i), TY.Load256(y, i), a0);
                    a1 = Vector256.FusedMultiplyAdd(TX.Load256(x, i + 8), TY.Load256(y, i + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(TX.Load256(x, i + 16), TY.Load256(y, i + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(TX.Load256(x, i + 24), TY.Load256(y, i + 24), a3);
                }
                reduced = FloatDotOrder.Reduce(a0, a1, a2, a3);
                break;
            }
            default:
                return Scalar<TX, TY>(x, y, n, doubleTail, lanes);
        }
        return Tail<TX, TY>(x, y, whole, n, reduced, doubleTail);
    }

    /// <summary>The specification: <paramref name="lanes"/> running sums (64 for the AVX-512 order, 32 for AVX2's).</summary>
    public static float Scalar<TX, TY>(void* x, void* y, int n, bool doubleTail, int lanes)
        where TX : IFloatRow
        where TY : IFloatRow
    {
        Span<float> acc = stackalloc float[lanes];
        acc.Clear();
        var whole = n - (n % lanes);
        for (var i = 0; i < whole; i += lanes)
        {
            for (var l = 0; l < lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(TX.Load(x, i + l), TY.Load(y, i + l), acc[l]);
            }
        }
        return Tail<TX, TY>(x, y, whole, n, FloatDotOrder.Reduce(acc), doubleTail);
    }

    /// <summary>The elements from <paramref name="from"/> on, added to <paramref name="reduced"/> in ggml's tail order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Tail<TX, TY>(void* x, void* y, int from, int n, float reduced, bool doubleTail)
        where TX : IFloatRow
        where TY : IFloatRow
    {
        if (doubleTail)
        {
            double sum = reduced;
            for (var i = from; i < n; i++)
            {
                sum += TX.Load(x, i) * TY.Load(y, i);
            }
            return (float)sum;
        }
        var f = reduced;
        for (var i = from; i < n; i++)
        {
            f = MathF.FusedMultiplyAdd(TX.Load(x, i), TY.Load(y, i), f);
        }
        return f;
    }
}
