using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>One tensor of a plan: what it is now, what it becomes, and why.</summary>
/// <param name="Tensor">The tensor as the input holds it.</param>
/// <param name="Decision">The chosen type and the reason.</param>
/// <param name="RequiresImportanceMatrix">llama.cpp refuses to write this tensor in its target type without an importance matrix.</param>
public sealed record QuantizationPlanEntry(GgufTensorInfo Tensor, TensorTypeDecision Decision, bool RequiresImportanceMatrix)
{
    public string Name => Tensor.Name;

    public GgmlType SourceType => Tensor.Type;

    public GgmlType TargetType => Decision.Type;

    public TensorTypeReason Reason => Decision.Reason;

    /// <summary>The target type is the current one, so the bytes are copied unchanged (llama.cpp does the same).</summary>
    public bool IsCopied => TargetType == SourceType;

    /// <summary>The row length forced a fallback from <see cref="TensorTypeDecision.FallbackFrom"/>.</summary>
    public bool IsFallback => Decision.FallbackFrom is not null;

    public long SourceBytes => Tensor.ByteSize;

    /// <summary>Bytes the tensor takes in the output (rows × row size of the target type).</summary>
    public long TargetBytes => IsCopied
        ? Tensor.ByteSize
        : GgufTensorInfo.CheckedByteSize(Tensor.Shape, TargetType)
            ?? throw new QuantizationException($"tensor '{Name}' is too large as {GgmlTypeInfo.Of(TargetType).Name}");
}
