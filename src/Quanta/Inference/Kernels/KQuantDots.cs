using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q4_K weights against Q8_K activations (<c>ggml_vec_dot_q4_K_q8_K</c>): per super-block the integer
/// Σ scaleⱼ·Σ q4·q8 and Σ minⱼ·bsums, then <c>sum += d·sumi</c> and <c>sum −= dmin·summ</c> with
/// <c>d = d_w·d_a</c>, <c>dmin = dmin_w·d_a</c>.
/// </summary>
public sealed class Q4_KDot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.Q4_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        KQuantDot.AffineDot(weights, activations, n, width, blockBytes: 144, highBits: false);

    public bool CanMultiply(KernelWidth width) => TileSums.Supported(width);

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        Q4_KTiles.Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);
}

/// <summary>Q5_K weights against Q8_K activations (<c>ggml_vec_dot_q5_K_q8_K</c>): Q4_K's sums with 5-bit quants.</summary>
public sealed class Q5_KDot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.Q5_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        KQuantDot.AffineDot(weights, activations, n, width, blockBytes: 176, highBits: true);

    /// <inheritdoc/>
    public bool CanMultiply(KernelWidth width) => width != KernelWidth.Scalar && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// <see cref="Dot"/> for a block of rows and tokens, each weight row unpacked once
    /// (<see cref="KQuantDot.UnpackAffine"/>) and then met by every token: per (row, token) the sums of
    /// <see cref="KQuantDot.AffineDot"/> in its order, so the same float.
    /// </summary>
    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        const int blockBytes = 176;
        var width = KernelWidths.Current;
        var blocks = n / 256;
        var row = UnpackedRow.For(blocks, integersPerBlock: 16, floatsPerBlock: 2);
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<float> accMins = stackalloc float[4];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < blocks; b++)
            {
                KQuantDot.UnpackAffine(weights.Slice((r * rowBytes) + (b * blockBytes), blockBytes), highBits: true, row.Levels.AsSpan(b * 256, 256), row.Integers.AsSpan(b * 16, 16), row.Floats.AsSpan(b * 2, 2), width);
            }
            for (var t = 0; t < tokens; t++)
            {
                var activationRow = activations.Slice(t * activationRowBytes, activationRowBytes);
                acc.Clear();
                accMins.Clear();
                for (var b = 0; b < blocks; b++)
                {
                    KQuantDot.AddAffineBlock(row.Levels.AsSpan(b * 256, 256), row.Integers.AsSpan(b * 16, 16), row.Floats.AsSpan(b * 2, 2), activationRow.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, accMins, width);
                }
                output[(t * outputStride) + r] = KQuantDot.AffineSum(acc, accMins);
            }
        }
    }
}

/// <summary>
/// Q6_K weights against Q8_K activations (<c>ggml_vec_dot_q6_K_q8_K</c>): per super-block the integer
/// Σ scaleⱼ·Σ (q6 − 32)·q8 over sixteen groups of 16, then <c>sum += d_w·d_a·sumi</c>.
/// </summary>
public sealed class Q6_KDot : IVecDot, IMatrixDot
{
    public GgmlType WeightType => GgmlType.Q6_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[256];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * 210, 210);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            KQuantExpand.Q6K(w[..128], w.Slice(128, 64), q, width);
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            sums.Clear();
            // Each group of 32 spans two 16-element sub-blocks: lanes 0-3 take the first one's scale, 4-7 the second's.
            for (var g = 0; g < 8; g++)
            {
                Avx2DotOrder.AddHalves(q.Slice(32 * g, 32), q8.Slice(32 * g, 32), (sbyte)w[192 + 2 * g], (sbyte)w[193 + 2 * g], sums, width);
            }
            var d = BinaryPrimitives.ReadSingleLittleEndian(a) * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[208..]));
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return Avx2DotOrder.Sum(acc);
    }

    public bool CanMultiply(KernelWidth width) => TileSums.Supported(width);

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        Q6_KTiles.Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);
}

/// <summary>The shared sums of the two K-quants with a scale and a min per 32-element sub-block.</summary>
internal static class KQuantDot
{
    /// <summary>
    /// <c>ggml_vec_dot_q4_K_q8_K</c> / <c>_q5_K_</c> in AVX2 order: the scaled products in eight lanes
    /// (<see cref="Avx2DotOrder"/>) times <c>d_w·d_a</c>; the mins times the activation sums of each sub-block pair in
    /// four more lanes times <c>−d_a·dmin_w</c>; the two folded and added at the end.
    /// </summary>
    public static float AffineDot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width, int blockBytes, bool highBits)
    {
        Span<sbyte> q = stackalloc sbyte[256];
        Span<int> scalesAndMins = stackalloc int[16];
        Span<float> d = stackalloc float[2];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<float> accMins = stackalloc float[4];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        accMins.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            UnpackAffine(weights.Slice(b * blockBytes, blockBytes), highBits, q, scalesAndMins, d, width);
            AddAffineBlock(q, scalesAndMins, d, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, accMins, width);
        }
        return AffineSum(acc, accMins);
    }

    /// <summary>
    /// One Q4_K/Q5_K super-block unpacked: its 256 levels, the eight 6-bit scales (<paramref name="scalesAndMins"/>
    /// 0–7) and mins (8–15), and <c>d</c>, <c>dmin</c> (<paramref name="d"/> 0 and 1).
    /// </summary>
    public static void UnpackAffine(ReadOnlySpan<byte> w, bool highBits, Span<sbyte> q, Span<int> scalesAndMins, Span<float> d, KernelWidth width)
    {
        if (highBits)
        {
            KQuantExpand.Q5K(w.Slice(16, 32), w.Slice(48, 128), q, width);
        }
        else
        {
            KQuantExpand.Q4K(w.Slice(16, 128), q, width);
        }
        var scales = w.Slice(4, 12);
        for (var j = 0; j < 8; j++)
        {
            KScales.UnpackScaleMin(j, scales, out var scale, out var min);
            scalesAndMins[j] = scale;
            scalesAndMins[8 + j] = min;
        }
        d[0] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w));
        d[1] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[2..]));
    }

    /// <summary>
    /// One unpacked super-block (<see cref="UnpackAffine"/>) against one Q8_K block, as <c>ggml_vec_dot_q4_K_q8_K</c>:
    /// the eight lanes' Σ scale·Σ q·q8 into <paramref name="acc"/> and, per pair of groups, <c>fma(−d_a·dmin, Σ min·bsums)</c>
    /// into <paramref name="accMins"/>.
    /// </summary>
    public static void AddAffineBlock(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> scalesAndMins, ReadOnlySpan<float> d, ReadOnlySpan<byte> a, Span<int> sums, Span<float> acc, Span<float> accMins, KernelWidth width)
    {
        var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
        var da = BinaryPrimitives.ReadSingleLittleEndian(a);
        var dmin = -da * d[1];
        sums.Clear();
        for (var m = 0; m < 4; m++)
        {
            var pair = 0;
            for (var j = 2 * m; j < 2 * m + 2; j++)
            {
                Avx2DotOrder.AddGroup(q.Slice(32 * j, 32), q8.Slice(32 * j, 32), scalesAndMins[j], sums, width);
                pair += scalesAndMins[8 + j] * (BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j)..])
                    + BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j + 2)..]));
            }
            accMins[m] = MathF.FusedMultiplyAdd(dmin, pair, accMins[m]);
        }
        Avx2DotOrder.Accumulate(d[0] * da, sums, acc);
    }

    /// <summary>The row's result: the folded lanes plus the mins' four partial sums in ggml's pairing.</summary>
    public static float AffineSum(ReadOnlySpan<float> acc, ReadOnlySpan<float> accMins) =>
        Avx2DotOrder.Sum(acc) + ((accMins[0] + accMins[2]) + (accMins[1] + accMins[3]));
}
