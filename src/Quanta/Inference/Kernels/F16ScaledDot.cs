using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Inference.Kernels;

/// <summary>
/// <c>ggml_vec_dot_f16</c> of one F16 weight row with one token's activations (generation), in
/// <see cref="FloatDotOrder"/> for the width, with the weights converted in three vector operations per sixteen
/// instead of <see cref="HalfWidening"/>'s nine. The half's sign, exponent and mantissa moved into a float's places
/// (<c>sign-extend(h) &lt;&lt; 13</c>, masked to <c>0x8FFFE000</c>) are the weight times 2^−112 exactly, subnormal
/// halves included; instead of scaling each weight back, the activations are scaled by 2^112 once per matrix
/// (<see cref="Scale"/>: exact, since an F16-rounded activation is at most 65504 and 65504 · 2^112 &lt; float's
/// largest). Every fused multiply-add then sees the same real product as with the widened values (2^−112 · 2^112 = 1
/// with no rounding on either side), so each running sum rounds the same way and the result is the same float, bit
/// for bit. Halves with the all-ones exponent (infinities, NaNs) would come out finite this way, so the loop keeps
/// the largest exponent field it has seen and a row that had one is done again the ordinary way
/// (<see cref="FloatVecDot.Dot{TX, TY}"/>). The elements past the last whole step are added with the unscaled
/// activations as ggml does.
/// </summary>
internal static unsafe class F16ScaledDot
{
    /// <summary>2^112, the factor between a half and its bits moved into a float's places.</summary>
    public const float ActivationScale = 5.192296858534828e+33f;

    const int SignAndMagnitude = unchecked((int)0x8FFFE000);
    const ushort ExponentMask = 0x7C00;

    /// <summary><c>scaled[i] = x[i] · 2^112</c> for the <paramref name="n"/> F16-rounded activations of one token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(float* x, float* scaled, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                (Vector512.Load(x + i) * ActivationScale).Store(scaled + i);
            }
        }
        for (; i < n; i++)
        {
            scaled[i] = x[i] * ActivationScale;
        }
    }

    /// <summary>
    /// The product of <paramref name="n"/> halves at <paramref name="w"/> with the activations <paramref name="x"/>,
    /// given also as <paramref name="scaled"/> (<see cref="Scale"/>). Equals
    /// <c>FloatVecDot.Dot&lt;F16Row, F32Row&gt;(w, x, n, doubleTail, width)</c> and so its scalar twin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ushort* w, float* x, float* scaled, int n, bool doubleTail, KernelWidth width)
    {
        var lanes = FloatDotOrder.Lanes(width);
        var whole = n - (n % lanes);
        float reduced;
        switch (width)
        {
            case KernelWidth.Vector512:
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var exponents = Vector512<ushort>.Zero;
                var exponent = Vector512.Create(ExponentMask);
                for (var i = 0; i < whole; i += 64)
                {
                    exponents = Vector512.Max(exponents, Vector512.Load(w + i) & exponent);
                    exponents = Vector512.Max(exponents, Vector512.Load(w + i + 32) & exponent);
                    a0 = Vector512.FusedMultiplyAdd(Weights512(w + i), Vector512.Load(scaled + i), a0);
                    a1 = Vector512.FusedMultiplyAdd(Weights512(w + i + 16), Vector512.Load(scaled + i + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(Weights512(w + i + 32), Vector512.Load(scaled + i + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(Weights512(w + i + 48), Vector512.Load(scaled + i + 48), a3);
                }
                if (Vector512.EqualsAny(exponents, exponent))
                {
                    return FloatVecDot.Dot<F16Row, F32Row>(w, x, n, doubleTail, width);
                }
                reduced = FloatDotOrder.Reduce(a0, a1, a2, a3);
                break;
            }
            case KernelWidth.Vector256:
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var exponents = Vector256<ushort>.Zero;
                var exponent = Vector256.Create(ExponentMask);
                for (var i = 0; i < whole; i += 32)
                {
                    exponents = Vector256.Max(exponents, Vector256.Load(w + i) & exponent);
                    exponents = Vector256.Max(exponents, Vector256.Load(w + i + 16) & exponent);
                    a0 = Vector256.FusedMultiplyAdd(Weights256(w + i), Vector256.Load(scaled + i), a0);
                    a1 = Vector256.FusedMultiplyAdd(Weights256(w + i + 8), Vector256.Load(scaled + i + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(Weights256(w + i + 16), Vector256.Load(scaled + i + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(Weights256(w + i + 24), Vector256.Load(scaled + i + 24), a3);
                }
                if (Vector256.EqualsAny(exponents, exponent))
                {
                    return FloatVecDot.Dot<F16Row, F32Row>(w, x, n, doubleTail, width);
                }
                reduced = FloatDotOrder.Reduce(a0, a1, a2, a3);
                break;
            }
            default:
                return FloatVecDot.Scalar<F16Row, F32Row>(w, x, n, doubleTail, lanes);
        }
        return FloatVecDot.Tail<F16Row, F32Row>(w, x, whole, n, reduced, doubleTail);
    }

    /// <summary>Sixteen halves as floats 2^112 times too small (sign-extended, shifted, masked).</summary>
    /// <remarks>
    /// Written with the AVX-512 intrinsics where there are, so that the load folds into one <c>vpmovsxwd</c>: the
    /// portable <c>WidenLower(Create(lower, zero))</c> costs the JIT two inserts, a zeroing and a copy per load, and
    /// the temporaries push one of the 4 × 6 tile's accumulators out of the registers.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Weights512(ushort* p)
    {
        if (Avx512F.IsSupported)
        {
            return Avx512F.And(Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)), 13), Vector512.Create(SignAndMagnitude)).AsSingle();
        }
        return (Vector512.ShiftLeft(Vector512.WidenLower(Vector512.Create(Vector256.Load((short*)p), Vector256<short>.Zero)), 13)
            & Vector512.Create(SignAndMagnitude)).AsSingle();
    }

    /// <summary>Eight halves as floats 2^112 times too small.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Weights256(ushort* p)
    {
        if (Avx2.IsSupported)
        {
            return Avx2.And(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.Load((short*)p)), 13), Vector256.Create(SignAndMagnitude)).AsSingle();
        }
        return (Vector256.ShiftLeft(Vector256.WidenLower(Vector256.Create(Vector128.Load((short*)p), Vector128<short>.Zero)), 13)
            & Vector256.Create(SignAndMagnitude)).AsSingle();
    }
}

/// <summary>F16 elements loaded as <see cref="F16ScaledDot"/> converts them: 2^112 times too small, infinities and NaNs not handled.</summary>
internal readonly unsafe struct ScaledHalfRow : IFloatRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(void* row, int i) => BitConverter.Int32BitsToSingle((((short*)row)[i] << 13) & unchecked((int)0x8FFFE000));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(void* row, int i) => F16ScaledDot.Weights256((ushort*)row + i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(void* row, int i) => F16ScaledDot.Weights512((ushort*)row + i);
}
