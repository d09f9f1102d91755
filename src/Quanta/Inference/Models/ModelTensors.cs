using System.Globalization;
using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// The tensors of one mapped GGUF as a forward pass wants them: matrices read in place, small vectors (norms,
/// biases, rope factors) decoded to float once. A missing tensor or a shape the architecture does not expect is a
/// <see cref="GgufFormatException"/> naming it.
/// </summary>
internal sealed class ModelTensors(GgufFile file)
{
    public GgufFile File { get; } = file;

    public GgufTensor Require(string name, params long[] shape) =>
        CheckShape(File.FindTensor(name) ?? throw new GgufFormatException($"{File.Path}: tensor '{name}' is missing"), shape);

    public GgufTensor? Optional(string name, params long[] shape) =>
        File.FindTensor(name) is { } tensor ? CheckShape(tensor, shape) : null;

    public LinearWeights Matrix(string name, long columns, long rows) => new(Require(name, columns, rows));

    public LinearWeights? OptionalMatrix(string name, long columns, long rows) =>
        Optional(name, columns, rows) is { } tensor ? new LinearWeights(tensor) : null;

    public float[] Vector(string name, long length) => ReadVector(Require(name, length));

    public float[]? OptionalVector(string name, long length) => Optional(name, length) is { } tensor ? ReadVector(tensor) : null;

    /// <summary>Expert <paramref name="index"/> of a 3-D <c>[columns, rows, experts]</c> tensor as a matrix of its own.</summary>
    public static LinearWeights Expert(GgufTensor experts, int index) =>
        new(experts.Slab(index));

    public static GgufTensor CheckShape(GgufTensor tensor, params long[] shape)
    {
        var ok = tensor.Shape.Count == shape.Length;
        for (var i = 0; ok && i < shape.Length; i++)
        {
            ok = shape[i] < 0 || tensor.Shape[i] == shape[i];
        }
        if (!ok)
        {
            throw new GgufFormatException($"tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape.Select(s => s < 0 ? "*" : s.ToString(CultureInfo.InvariantCulture)))}]");
        }
        return tensor;
    }

    static float[] ReadVector(GgufTensor tensor)
    {
        var values = new float[tensor.Info.ElementCount];
        if (tensor.Type == GgmlType.F32)
        {
            MemoryMarshal.Cast<byte, float>(tensor.Data).CopyTo(values);
        }
        else
        {
            BlockCodecs.Get(tensor.Type).Decode(tensor.Data, values);
        }
        return values;
    }
}
