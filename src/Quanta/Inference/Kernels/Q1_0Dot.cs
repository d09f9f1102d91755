using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Q1_0 weights against Q8_0 activations (<c>ggml_vec_dot_q1_0_q8_0</c>): blocks of 128 signs (±1) with an fp16 d,
/// four Q8_0 blocks each, summed as <see cref="LowBitDot"/> does.
/// </summary>
public sealed class Q1_0Dot : IVecDot
{
    public GgmlType WeightType => GgmlType.Q1_0;

    public GgmlType ActivationType => GgmlType.Q8_0;

    public void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width) =>
        Q8_0Activations.Quantize(x, destination, width);

    public float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width) =>
        LowBitDot.Dot(GgmlType.Q1_0, weights, activations, n, width);
}
