using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q3_K weights against Q8_K activations (<c>ggml_vec_dot_q3_K_q8_K</c>, AVX2 order): each weight is its two low
/// bits minus 4 where its bit in <c>hmask</c> is clear; every group of 32 is two 16-element sub-blocks with signed
/// 6-bit scales (lanes 0–3 the first's, 4–7 the second's, as <c>madd</c> with the shuffled scales leaves them), and
/// per super-block <c>fma(d_a·d_w, lane, acc)</c>, folded at the end (<see cref="Avx2DotOrder"/>). This row dot is
/// the scalar twin; batches go through <see cref="Q3_KTiles"/>, the same sums in registers.
/// </summary>
public sealed class Q3_KDot : IVecDot, IMatrixDot
{
    const int BlockBytes = 110;
    const int QsOffset = 32;
    const int ScalesOffset = 96;
    const int DOffset = 108;

    public GgmlType WeightType => GgmlType.Q3_K;

    public GgmlType ActivationType => GgmlType.Q8_K;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_KActivations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<sbyte> q = stackalloc sbyte[256];
        Span<int> scales = stackalloc int[16];
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 256; b++)
        {
            var d = Unpack(weights.Slice(b * BlockBytes, BlockBytes), q, scales, width);
            AddBlock(q, scales, d, activations.Slice(b * Q8_KActivations.BlockBytes, Q8_KActivations.BlockBytes), sums, acc, width);
        }
        return Avx2DotOrder.Sum(acc);
    }

    public bool CanMultiply(KernelWidth width) => TileSums.Supported(width);

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        Q3_KTiles.Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);

    /// <summary>One super-block's 256 levels and sixteen signed 6-bit scales; returns its d.</summary>
    static float Unpack(ReadOnlySpan<byte> w, Span<sbyte> q, Span<int> scales, KernelWidth width)
    {
        Expand(w[..32], w.Slice(QsOffset, 64), q, width);
        var packed = w.Slice(ScalesOffset, 12);
        for (var j = 0; j < 16; j++)
        {
            scales[j] = KScales.UnpackQ3(j, packed);
        }
        return Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w[DOffset..]));
    }

    /// <summary>One unpacked super-block against one Q8_K block: the eight lanes' integer sums, then <c>fma(d_a·d_w, lane, acc)</c>.</summary>
    static void AddBlock(ReadOnlySpan<sbyte> q, ReadOnlySpan<int> scales, float d, ReadOnlySpan<byte> a, Span<int> sums, Span<float> acc, KernelWidth width)
    {
        var q8 = IntegerDot.Signed(a.Slice(Q8_KActivations.QuantsOffset, 256));
        sums.Clear();
        for (var g = 0; g < 8; g++)
        {
            Avx2DotOrder.AddHalves(q.Slice(32 * g, 32), q8.Slice(32 * g, 32), scales[2 * g], scales[(2 * g) + 1], sums, width);
        }
        Avx2DotOrder.Accumulate(BinaryPrimitives.ReadSingleLittleEndian(a) * d, sums, acc);
    }

    /// <summary>
    /// The 256 signed levels (−4..3) in element order (<c>dequantize_row_q3_K</c>): in each half of 128, group j is
    /// bits 2j..2j+1 of the half's 32 <c>qs</c> bytes, less 4 where bit 4·half + j of <c>hmask</c> is clear.
    /// </summary>
    static void Expand(ReadOnlySpan<byte> hmask, ReadOnlySpan<byte> qs, Span<sbyte> q, KernelWidth width)
    {
        for (var half = 0; half < 2; half++)
        {
            var low = qs.Slice(32 * half, 32);
            if (width == KernelWidth.Scalar)
            {
                for (var j = 0; j < 4; j++)
                {
                    var bit = 4 * half + j;
                    for (var l = 0; l < 32; l++)
                    {
                        q[128 * half + 32 * j + l] = (sbyte)(((low[l] >> (2 * j)) & 3) - (((hmask[l] >> bit) & 1) == 0 ? 4 : 0));
                    }
                }
                continue;
            }
            var bits = Vector256.Create(low);
            var high = Vector256.Create(hmask);
            var three = Vector256.Create((byte)3);
            var one = Vector256.Create((byte)1);
            var output = MemoryMarshal.Cast<sbyte, byte>(q);
            for (var j = 0; j < 4; j++)
            {
                // (1 − hbit)·4 is what ggml subtracts; as bytes it wraps to the same signed level.
                var missing = Vector256.ShiftLeft((Vector256.ShiftRightLogical(high, 4 * half + j) & one) ^ one, 2);
                ((Vector256.ShiftRightLogical(bits, 2 * j) & three) - missing).CopyTo(output[(128 * half + 32 * j)..]);
            }
        }
    }
}
