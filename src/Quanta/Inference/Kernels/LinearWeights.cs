using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Inference.Kernels;

/// <summary>
/// A 2-D weight tensor of the mapped GGUF used as a matrix: <see cref="Rows"/> rows of <see cref="Columns"/>
/// elements (GGUF shape <c>[Columns, Rows]</c>), read in place, never copied.
/// </summary>
public sealed class LinearWeights
{
    public LinearWeights(GgufTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Shape.Count != 2)
        {
            throw new GgufFormatException($"tensor '{tensor.Name}' should have 2 dimensions, not {tensor.Shape.Count}");
        }
        if (!VecDots.TryGet(tensor.Type, out var dot))
        {
            throw new GgufFormatException($"tensor '{tensor.Name}' is {GgmlTypeInfo.Of(tensor.Type).Name}, a type the runtime cannot multiply yet (it can: {string.Join(", ", VecDots.All.Select(d => GgmlTypeInfo.Of(d.WeightType).Name))})");
        }
        Tensor = tensor;
        Columns = checked((int)tensor.Shape[0]);
        Rows = checked((int)tensor.Shape[1]);
        RowBytes = checked((int)GgmlTypeInfo.Of(tensor.Type).RowBytes(Columns));
        Dot = dot;
    }

    public GgufTensor Tensor { get; }

    public int Columns { get; }

    public int Rows { get; }

    public int RowBytes { get; }

    public IVecDot Dot { get; }

    /// <summary>Bytes of one row of activations converted for this matrix.</summary>
    public int ActivationRowBytes => Dot.ActivationRowBytes(Columns);
}
