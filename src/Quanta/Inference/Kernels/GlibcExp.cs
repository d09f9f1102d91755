using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// glibc's <c>expf</c> (the algorithm of Arm's optimized-routines, glibc 2.28 and later: <c>x·32/ln2 = k + r</c>,
/// <c>2^(k/32)</c> from a 32-entry table, a cubic in <c>r</c>, all in double, rounded to float once) for the
/// arguments a softmax gives it (<c>s − max ≤ 0</c>), eight at a time. Where llama.cpp's attention softmax calls libm
/// one element at a time (<see cref="MathF.Exp"/> here), this computes the same floats with vector double
/// arithmetic: checked against <see cref="MathF.Exp"/> for every float from −0 down to −103.97 (below which both
/// give 0). Lanes above 0 or NaN are left to libm.
/// </summary>
internal static class GlibcExp
{
    const int TableBits = 5;
    const int N = 1 << TableBits;

    /// <summary>32 / ln 2 (glibc's <c>invln2_scaled</c>).</summary>
    static readonly double InvLn2N = BitConverter.Int64BitsToDouble(0x3ff71547652b82fe) * N;

    /// <summary>0x1.8p52: adding it rounds to an integer held in the low bits.</summary>
    const double Shift = 6755399441055744.0;

    // glibc's poly_scaled: the cubic's coefficients for r in units of 1/32.
    static readonly double C0 = BitConverter.Int64BitsToDouble(0x3fac6af84b912394) / N / N / N;
    static readonly double C1 = BitConverter.Int64BitsToDouble(0x3fcebfce50fac4f3) / N / N;
    static readonly double C2 = BitConverter.Int64BitsToDouble(0x3fe62e42ff0c52d6) / N;

    /// <summary>Below this, e^x is under half the smallest subnormal: glibc returns 0.</summary>
    static readonly float Underflow = BitConverter.Int32BitsToSingle(unchecked((int)0xc2cff1b4)); // -0x1.9fe368p6f

    /// <summary><c>tab[i] = bits(2^(i/32)) − (i &lt;&lt; 47)</c>: the table plus <c>k &lt;&lt; 47</c> is 2^(k/32).</summary>
    static readonly ulong[] Table = BuildTable();

    static ulong[] BuildTable()
    {
        var table = new ulong[N];
        for (var i = 0; i < N; i++)
        {
            table[i] = (ulong)BitConverter.DoubleToInt64Bits(Math.Pow(2, i / (double)N)) - ((ulong)i << (52 - TableBits));
        }
        return table;
    }

    /// <summary>The scalar specification (for x ≤ 0).</summary>
    public static float Exp(float x)
    {
        if (!(x <= 0f))
        {
            return MathF.Exp(x);
        }
        if (x < Underflow)
        {
            return 0f;
        }
        double xd = x;
        var kd = Math.FusedMultiplyAdd(InvLn2N, xd, Shift);
        var ki = (ulong)BitConverter.DoubleToInt64Bits(kd);
        kd -= Shift;
        var r = Math.FusedMultiplyAdd(InvLn2N, xd, -kd);
        var s = BitConverter.Int64BitsToDouble((long)(Table[ki % N] + (ki << (52 - TableBits))));
        var y = Math.FusedMultiplyAdd(Math.FusedMultiplyAdd(C0, r, C1), r * r, Math.FusedMultiplyAdd(C2, r, 1.0));
        return (float)(y * s);
    }

    /// <summary>Eight lanes of <see cref="Exp(float)"/>.</summary>
    public static Vector256<float> Exp(Vector256<float> x)
    {
        if (!Vector256.LessThanOrEqualAll(x, Vector256<float>.Zero))
        {
            return Scalar(x);
        }
        var (low, high) = Vector256.Widen(x);
        var result = Vector256.Narrow(Exp(low), Exp(high));
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Underflow)), Vector256<float>.Zero, result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<double> Exp(Vector256<double> xd)
    {
        var kd = Vector256.FusedMultiplyAdd(Vector256.Create(InvLn2N), xd, Vector256.Create(Shift));
        var ki = kd.AsUInt64();
        kd -= Vector256.Create(Shift);
        var r = Vector256.FusedMultiplyAdd(Vector256.Create(InvLn2N), xd, -kd);
        var index = ki & Vector256.Create((ulong)(N - 1));
        var table = Vector256.Create(Table[(int)index[0]], Table[(int)index[1]], Table[(int)index[2]], Table[(int)index[3]]);
        var s = (table + Vector256.ShiftLeft(ki, 52 - TableBits)).AsDouble();
        var y = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(Vector256.Create(C0), r, Vector256.Create(C1)), r * r,
            Vector256.FusedMultiplyAdd(Vector256.Create(C2), r, Vector256.Create(1.0)));
        return y * s;
    }

    static Vector256<float> Scalar(Vector256<float> x)
    {
        Span<float> lanes = stackalloc float[8];
        for (var l = 0; l < 8; l++)
        {
            lanes[l] = Exp(x[l]);
        }
        return Vector256.Create<float>(lanes);
    }
}
