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
    /// <see cref="Dot"/> for a block of rows and tokens, each weight row unpacked once (levels, the eight 6-bit scales
    /// and mins, d and dmin of every super-block) and then met by every token: per (row, token) the sums of
    /// <see cref="KQuantDot.AffineDot"/> in its order, so the same float.
    /// </summary>
    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
    {
        const int blockBytes = 176;
        var width = KernelWidths.Current;
        var blocks = n / 256;
        var row = UnpackedRow.Get(blocks);
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<float> accMins = stackalloc float[4];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        for (var r = 0; r < rows; r++)
        {
            var weightRow = weights.Slice(r * rowBytes, rowBytes);
            for (var b = 0; b < blocks; b++)
            {
                var w = weightRow.Slice(b * blockBytes, blockBytes);
                KQuantExpand.Q5K(w.Slice(16, 32), w.Slice(48, 128), row.Levels.AsSpan(b * 256, 256), width);
                var scales = w.Slice(4, 12);
                for (var j = 0; j < 8; j++)
                {
                    KScales.UnpackScaleMin(j, scales, out row.Scales[(b * 8) + j], out row.Mins[(b * 8) + j]);
                }
                row.D[b] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w));
                row.DMin[b] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[2..]));
            }
            for (var t = 0; t < tokens; t++)
            {
                var activationRow = activations.Slice(t * activationRowBytes, activationRowBytes);
                acc.Clear();
                accMins.Clear();
                for (var b = 0; b < blocks; b++)
                {
                    var a = activationRow.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
                    var q = row.Levels.AsSpan(b * 256, 256);
                    var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
                    var da = BinaryPrimitives.ReadSingleLittleEndian(a);
                    var dmin = -da * row.DMin[b];
                    sums.Clear();
                    for (var m = 0; m < 4; m++)
                    {
                        var pair = 0;
                        for (var j = 2 * m; j < 2 * m + 2; j++)
                        {
                            Avx2DotOrder.AddGroup(q.Slice(32 * j, 32), q8.Slice(32 * j, 32), row.Scales[(b * 8) + j], sums, width);
                            pair += row.Mins[(b * 8) + j] * (BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j)..])
                                + BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j + 2)..]));
                        }
                        accMins[m] = MathF.FusedMultiplyAdd(dmin, pair, accMins[m]);
                    }
                    Avx2DotOrder.Accumulate(row.D[b] * da, sums, acc);
                }
                output[(t * outputStride) + r] = Avx2DotOrder.Sum(acc) + ((accMins[0] + accMins[2]) + (accMins[1] + accMins[3]));
            }
        }
    }

    /// <summary>One weight row unpacked (per thread, grown to the longest row seen).</summary>
    sealed class UnpackedRow
    {
        [ThreadStatic]
        static UnpackedRow? s_current;

        public sbyte[] Levels = [];
        public byte[] Scales = [];
        public byte[] Mins = [];
        public float[] D = [];
        public float[] DMin = [];

        public static UnpackedRow Get(int blocks)
        {
            var row = s_current ??= new UnpackedRow();
            if (row.D.Length < blocks)
            {
                row.Levels = new sbyte[blocks * 256];
                row.Scales = new byte[blocks * 8];
                row.Mins = new byte[blocks * 8];
                row.D = new float[blocks];
                row.DMin = new float[blocks];
            }
            return row;
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
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<float> accMins = stackalloc float[4];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        accMins.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var w = weights.Slice(b * blockBytes, blockBytes);
            var a = activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes);
            var scales = w.Slice(4, 12);
            if (highBits)
            {
                KQuantExpand.Q5K(w.Slice(16, 32), w.Slice(48, 128), q, width);
            }
            else
            {
                KQuantExpand.Q4K(w.Slice(16, 128), q, width);
            }
            var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
            var da = BinaryPrimitives.ReadSingleLittleEndian(a);
            var dmin = -da * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[2..]));
            sums.Clear();
            for (var m = 0; m < 4; m++)
            {
                var pair = 0;
                for (var j = 2 * m; j < 2 * m + 2; j++)
                {
                    KScales.UnpackScaleMin(j, scales, out var scale, out var min);
                    Avx2DotOrder.AddGroup(q.Slice(32 * j, 32), q8.Slice(32 * j, 32), scale, sums, width);
                    pair += min * (BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j)..])
                        + BinaryPrimitives.ReadInt16LittleEndian(a[(Q8_KActivations.SumsOffset + 4 * j + 2)..]));
                }
                accMins[m] = MathF.FusedMultiplyAdd(dmin, pair, accMins[m]);
            }
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * da;
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return Avx2DotOrder.Sum(acc) + ((accMins[0] + accMins[2]) + (accMins[1] + accMins[3]));
    }
}
