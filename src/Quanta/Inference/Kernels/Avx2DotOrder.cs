using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The float order of ggml-cpu's AVX2 quantized dot products (and llamafile's tinyBLAS, which sums the same way):
/// eight float lanes, lane l fed each block by <c>fma(d, (float)sumᵢ, acc[l])</c> where sumᵢ is the block's exact
/// integer sum over the elements whose index within each 32 is 4l … 4l+3 (what <c>maddubs</c> + <c>madd</c> leave in
/// an int32 lane), and folded at the end as <c>hsum_float_8</c>: lanes l and l+4, then (0+2) + (1+3). Matching this
/// order, not only the arithmetic, keeps a result's last bit equal to llama.cpp's, which matters where it is later
/// rounded to F16 (the KV cache) or quantized again (the next layer's activations).
/// </summary>
internal static class Avx2DotOrder
{
    public const int Lanes = 8;

    /// <summary>
    /// Adds into <paramref name="lanes"/> the products of a 32-element group, each scaled by <paramref name="scale"/>:
    /// lane l gets scale·Σ a[i]·b[i] over i = 4l … 4l+3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddGroup(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, int scale, Span<int> lanes, KernelWidth width)
    {
        if (width != KernelWidth.Scalar)
        {
            (Vector256.Create(lanes) + (Vector256.Create(scale) * LaneSums(a, b))).CopyTo(lanes);
            return;
        }
        for (var l = 0; l < Lanes; l++)
        {
            var i = 4 * l;
            lanes[l] += scale * ((a[i] * b[i]) + (a[i + 1] * b[i + 1]) + (a[i + 2] * b[i + 2]) + (a[i + 3] * b[i + 3]));
        }
    }

    /// <summary>
    /// <see cref="AddGroup"/> for a group of 32 made of two 16-element sub-blocks with their own scales (Q6_K):
    /// lanes 0–3 cover the first sub-block, 4–7 the second.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddHalves(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, int firstScale, int secondScale, Span<int> lanes, KernelWidth width)
    {
        if (width != KernelWidth.Scalar)
        {
            var scales = Vector256.Create(firstScale, firstScale, firstScale, firstScale, secondScale, secondScale, secondScale, secondScale);
            (Vector256.Create(lanes) + (scales * LaneSums(a, b))).CopyTo(lanes);
            return;
        }
        for (var l = 0; l < Lanes; l++)
        {
            var i = 4 * l;
            lanes[l] += (l < 4 ? firstScale : secondScale) * ((a[i] * b[i]) + (a[i + 1] * b[i + 1]) + (a[i + 2] * b[i + 2]) + (a[i + 3] * b[i + 3]));
        }
    }

    /// <summary>
    /// The eight sums of four products of a 32-byte group with 256-bit vectors (what <c>maddubs</c> + <c>madd</c> do):
    /// products as int16 (|a·b| ≤ 128·128 fits), adjacent pairs added as int32, adjacent pairs of those as int64, and
    /// the low halves narrowed back to eight int32 lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> LaneSums(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        var (aLow, aHigh) = Vector256.Widen(Vector256.Create(a));
        var (bLow, bHigh) = Vector256.Widen(Vector256.Create(b));
        return Vector256.Narrow(Quads(aLow * bLow), Quads(aHigh * bHigh));
    }

    // Sixteen int16 products → four int64 sums of four consecutive products.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<long> Quads(Vector256<short> products)
    {
        var words = products.AsInt32();
        var pairs = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(words, 16), 16) + Vector256.ShiftRightArithmetic(words, 16);
        var longs = pairs.AsInt64();
        return Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(longs, 32), 32) + Vector256.ShiftRightArithmetic(longs, 32);
    }

    /// <summary>acc[l] = fma(d, (float)sums[l], acc[l]) for the eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(float d, ReadOnlySpan<int> sums, Span<float> acc)
    {
        for (var l = 0; l < Lanes; l++)
        {
            acc[l] = MathF.FusedMultiplyAdd(d, sums[l], acc[l]);
        }
    }

    /// <summary><c>hsum_float_8</c>: (lane l + lane l+4) for l &lt; 4, then (t0 + t2) + (t1 + t3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(ReadOnlySpan<float> acc)
    {
        var t0 = acc[4] + acc[0];
        var t1 = acc[5] + acc[1];
        var t2 = acc[6] + acc[2];
        var t3 = acc[7] + acc[3];
        return (t0 + t2) + (t1 + t3);
    }
}
