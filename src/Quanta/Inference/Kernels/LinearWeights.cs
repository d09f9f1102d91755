using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Inference.Kernels;

/// <summary>
/// A 2-D weight tensor of the mapped GGUF used as a matrix: <see cref="Rows"/> rows of <see cref="Columns"/>
/// elements (GGUF shape <c>[Columns, Rows]</c>), read in place, never copied.
/// </summary>
public sealed unsafe class LinearWeights
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

    /// <summary>
    /// For F16 weights, what the batch products have found of each group of four rows (0 not yet looked at, 1 no
    /// infinity or NaN, 2 some), so that a block is checked once, the first time it is multiplied, and not again for
    /// every batch (<see cref="FloatMatrix.MultiplyHalves(ReadOnlySpan{byte}, int, int, float*, float*, long, int, int, Span{float}, int, KernelWidth, Span{byte})"/>).
    /// Threads work on disjoint rows, so each group is written by one thread at a time.
    /// </summary>
    internal byte[] RowGroupChecks => _rowGroupChecks ??= new byte[(Rows + 3) / 4];

    byte[]? _rowGroupChecks;
}
