using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q8_0 weights against Q8_0 activations as llama.cpp's x86 build computes them (<c>ggml_vec_dot_q8_0_q8_0</c> AVX2
/// and llamafile's <c>tinyBLAS_Q0_AVX</c>, which agree): per block eight exact integer sums of four products,
/// multiplied by <c>d_w·d_a</c> into eight float lanes, folded at the end (<see cref="Avx2DotOrder"/>).
/// </summary>
public sealed class Q8_0Dot : IVecDot, IPreparedMatrixDot
{
    public GgmlType WeightType => GgmlType.Q8_0;

    public GgmlType ActivationType => GgmlType.Q8_0;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_0Activations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        Span<float> acc = stackalloc float[Avx2DotOrder.Lanes];
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        acc.Clear();
        for (var b = 0; b < n / 32; b++)
        {
            var w = weights.Slice(b * 34, 34);
            var a = activations.Slice(b * 34, 34);
            sums.Clear();
            Avx2DotOrder.AddGroup(IntegerDot.Signed(w[2..]), IntegerDot.Signed(a[2..]), 1, sums, width);
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)) * Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a));
            Avx2DotOrder.Accumulate(d, sums, acc);
        }
        return Avx2DotOrder.Sum(acc);
    }

    public bool CanMultiply(KernelWidth width) => TileSums.Supported(width);

    public void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride) =>
        Q8_0Tiles.Multiply(weights, rowBytes, rows, activations, activationRowBytes, tokens, n, output, outputStride);

    int IPreparedMatrixDot.PreparedBytes(int tokens, int n, KernelWidth width) =>
        CanMultiply(width) ? Q8_0Tiles.PreparedBytes(tokens, n) : 0;

    void IPreparedMatrixDot.Prepare(ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<byte> prepared) =>
        Q8_0Tiles.Prepare(activations, activationRowBytes, tokens, n, prepared);

    void IPreparedMatrixDot.Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, ReadOnlySpan<byte> prepared, int tokens, int n, Span<float> output, int outputStride) =>
        Q8_0Tiles.Multiply(weights, rowBytes, rows, activations, activationRowBytes, prepared, tokens, n, output, outputStride);
}
