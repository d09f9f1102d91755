namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml-cpu's vectorised <c>expf</c> (<c>ggml_v_expf</c>, "adapted from arm limited optimized routine", at most
/// 1.45 + 0.5 ulp from the true value) and the SiLU built on it (<c>ggml_v_silu</c>), element by element: ggml runs
/// them on whole registers of a row (16 lanes with AVX-512, 8 with AVX2) and the row's tail through libm's
/// <c>expf</c>, so the same input can round differently from <see cref="MathF.Exp"/>. The AVX-512 form scales the
/// polynomial <c>1 + p(b)</c> by <c>2^n</c> (<c>_mm512_scalef_ps</c>); the AVX2 form computes <c>k + k·p(b)</c> with
/// <c>p</c> lacking its constant term, so the two differ in the last bit now and then. The scalar code here is the
/// specification of both; it is what runs (SiLU is a small share of a feed-forward's time).
/// </summary>
public static class VectorExp
{
    // ggml_v_expf's constants, bit for bit (C# has no hexadecimal float literals).
    static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3fb8aa3b); // 0x1.715476p+0
    static readonly float Shift = BitConverter.Int32BitsToSingle(0x4b400000); // 0x1.8p23
    static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3f317200); // 0x1.62e4p-1
    static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35bfbe8e); // 0x1.7f7d1cp-20
    static readonly float C0 = BitConverter.Int32BitsToSingle(0x3f7ffff6); // 0x1.ffffecp-1
    static readonly float C1 = BitConverter.Int32BitsToSingle(0x3efffedb); // 0x1.fffdb6p-2
    static readonly float C2 = BitConverter.Int32BitsToSingle(0x3e2aaf33); // 0x1.555e66p-3
    static readonly float C3 = BitConverter.Int32BitsToSingle(0x3d2b9f17); // 0x1.573e2ep-5
    static readonly float C4 = BitConverter.Int32BitsToSingle(0x3c072010); // 0x1.0e4020p-7

    /// <summary>The register width ggml's SiLU and softmax loops take at <paramref name="width"/> (AVX2's for the scalar twins).</summary>
    public static int Lanes(KernelWidth width) => width == KernelWidth.Vector512 ? 16 : 8;

    /// <summary><c>ggml_v_expf</c> of one lane, in the AVX-512 (<paramref name="avx512"/>) or AVX2 + FMA form.</summary>
    public static float Exp(float x, bool avx512)
    {
        var z = MathF.FusedMultiplyAdd(x, Log2E, Shift);
        var n = z - Shift;
        var b = MathF.FusedMultiplyAdd(-n, Ln2Low, MathF.FusedMultiplyAdd(-n, Ln2High, x));
        var u = b * b;
        var high = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C4, b, C3), u, MathF.FusedMultiplyAdd(C2, b, C1));
        if (avx512)
        {
            if (MathF.Abs(n) > 192f)
            {
                return n <= 0f ? 0f : float.PositiveInfinity;
            }
            var j = MathF.FusedMultiplyAdd(high, u, MathF.FusedMultiplyAdd(C0, b, 1f));
            return MathF.ScaleB(j, (int)n);
        }
        var p = MathF.FusedMultiplyAdd(high, u, C0 * b);
        var e = BitConverter.SingleToInt32Bits(z) << 23;
        var k = BitConverter.Int32BitsToSingle(e + BitConverter.SingleToInt32Bits(1f));
        if (!(MathF.Abs(n) > 126f))
        {
            return MathF.FusedMultiplyAdd(k, p, k);
        }
        var g = n <= 0f ? unchecked((int)0x82000000u) : 0;
        var s1 = BitConverter.Int32BitsToSingle(g + 0x7f000000);
        if (MathF.Abs(n) > 192f)
        {
            return s1 * s1;
        }
        var s2 = BitConverter.Int32BitsToSingle(e - g);
        return MathF.FusedMultiplyAdd(s2, p, s2) * s1;
    }

    /// <summary>
    /// <c>ggml_vec_silu_f32</c> of each row of <paramref name="rowLength"/> in <paramref name="gate"/>, times
    /// <paramref name="up"/> (<c>ggml_mul</c>), in place: whole registers by <see cref="Exp"/>, the tail by libm.
    /// </summary>
    public static void SiluTimes(Span<float> gate, ReadOnlySpan<float> up, int rowLength, KernelWidth width)
    {
        var lanes = Lanes(width);
        var avx512 = width == KernelWidth.Vector512;
        var vectorised = rowLength / lanes * lanes;
        for (var start = 0; start < gate.Length; start += rowLength)
        {
            var row = gate.Slice(start, rowLength);
            var upRow = up.Slice(start, rowLength);
            for (var i = 0; i < rowLength; i++)
            {
                var x = row[i];
                var silu = i < vectorised ? x / (1f + Exp(0f - x, avx512)) : x / (1f + MathF.Exp(-x));
                row[i] = silu * upRow[i];
            }
        }
    }

    /// <summary>
    /// <c>ggml_soft_max</c> of one row without mask or scale (<c>ggml_vec_soft_max_f32</c>): the maximum subtracted;
    /// whole registers through <see cref="Exp"/>, each register's values summed by a halving tree in float and added
    /// to a double sum; the tail through libm, added one by one; then every value times the float reciprocal.
    /// </summary>
    public static void Softmax(Span<float> x, KernelWidth width)
    {
        var max = float.NegativeInfinity;
        foreach (var v in x)
        {
            max = MathF.Max(max, v);
        }
        var lanes = Lanes(width);
        var avx512 = width == KernelWidth.Vector512;
        Span<float> register = stackalloc float[16];
        double sum = 0;
        var i = 0;
        for (; i + lanes <= x.Length; i += lanes)
        {
            for (var l = 0; l < lanes; l++)
            {
                x[i + l] = Exp(x[i + l] - max, avx512);
                register[l] = x[i + l];
            }
            sum += TinyBlasOrder.Sum(register[..lanes]);
        }
        for (; i < x.Length; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }
        var reciprocal = (float)(1.0 / sum);
        for (var j = 0; j < x.Length; j++)
        {
            x[j] *= reciprocal;
        }
    }
}
