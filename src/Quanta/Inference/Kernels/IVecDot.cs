using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml's <c>vec_dot</c> for one weight type: the activations are first converted to the type's
/// <c>vec_dot_type</c> (F32, F16, Q8_0, Q8_1 or Q8_K, as ggml-cpu's <c>from_float</c> writes them), then each weight
/// row is dotted with them: integer products inside a block, one float multiply-add per block.
/// </summary>
public interface IVecDot
{
    /// <summary>The weight row's type.</summary>
    GgmlType WeightType { get; }

    /// <summary>ggml's <c>vec_dot_type</c> of <see cref="WeightType"/>: the activations' format.</summary>
    GgmlType ActivationType { get; }

    /// <summary>Converts <paramref name="x"/> (a whole number of blocks) to <see cref="ActivationType"/>.</summary>
    void QuantizeActivations(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width);

    /// <summary>The dot product of one weight row and one converted activation row of <paramref name="n"/> elements.</summary>
    float Dot(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width);
}
