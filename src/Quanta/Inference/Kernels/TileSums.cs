using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The integer and float steps the x86 tile kernels share (<see cref="Q8_0Tiles"/>, <see cref="Q3_KTiles"/>,
/// <see cref="Q4_KTiles"/>, <see cref="Q6_KTiles"/>): the same exact int32 lanes and the same float folds as <see cref="Avx2DotOrder"/>,
/// with AVX-VNNI's one-instruction forms where the CPU has them.
/// </summary>
internal static class TileSums
{
    /// <summary>The tile kernels need AVX2 and FMA; VNNI is used when present.</summary>
    public static bool Supported(KernelWidth width) => width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// <c>sums + scale·(p[2l] + p[2l+1])</c> per int32 lane for sixteen int16 pair sums (<c>pmaddwd</c>, or VNNI's
    /// <c>vpdpwssd</c> which adds in the same instruction). Exact: the products fit int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> AddScaledPairs(Vector256<int> sums, Vector256<short> pairs, Vector256<short> scale) =>
        AvxVnni.IsSupported ? AvxVnni.MultiplyWideningAndAdd(sums, pairs, scale) : Avx2.Add(sums, Avx2.MultiplyAddAdjacent(pairs, scale));

    /// <summary>The shuffle that picks the first group's two sub-block scales: byte 0 eight times, then byte 1.</summary>
    public static Vector128<sbyte> FirstSubBlockPair => Vector128.Create((sbyte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);

    /// <summary>
    /// A 32-element group's two 16-element sub-block scales (of sixteen signed bytes) as int16: eight of the first,
    /// then eight of the second (ggml's <c>get_scale_shuffle</c>, Q3_K and Q6_K), so that <see cref="AddScaledPairs"/>
    /// scales lanes 0–3 by one and 4–7 by the other. Moves <paramref name="shuffle"/> on to the next group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> SubBlockPairScales(Vector128<sbyte> scales, ref Vector128<sbyte> shuffle)
    {
        var pair = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, shuffle));
        shuffle += Vector128.Create((sbyte)2);
        return pair;
    }

    /// <summary><c>hsum_float_8</c>: (lane l + lane l+4) for l &lt; 4, then (t0 + t2) + (t1 + t3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fold(Vector256<float> acc)
    {
        var t = acc.GetUpper() + acc.GetLower();
        return (t.GetElement(0) + t.GetElement(2)) + (t.GetElement(1) + t.GetElement(3));
    }

    /// <summary>The four-lane fold of the K-quants' min sums: (m0 + m2) + (m1 + m3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fold(Vector128<float> acc) =>
        (acc.GetElement(0) + acc.GetElement(2)) + (acc.GetElement(1) + acc.GetElement(3));
}
