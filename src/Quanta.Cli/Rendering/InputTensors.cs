using Quanta.Formats;
using Quanta.Quantization;

namespace Quanta.Cli.Rendering;

/// <summary>
/// What each tensor is in the file the user gave, where the pipeline reads it as something else: a checkpoint's
/// BF16 tensors reach the quantizer as float32 rows, yet the report must say "bf16, 7 MiB", not "f32, 14 MiB".
/// Tensors it does not name are what the plan says.
/// </summary>
internal sealed class InputTensors(IReadOnlyDictionary<string, (string Type, long Bytes)> byName)
{
    /// <summary>Every tensor as the plan has it (a GGUF input, read as stored).</summary>
    public static InputTensors AsPlanned { get; } = new(new Dictionary<string, (string, long)>());

    public string TypeOf(QuantizationPlanEntry entry) => byName.TryGetValue(entry.Name, out var t) ? t.Type : GgmlTypeInfo.Of(entry.SourceType).Name;

    public long BytesOf(QuantizationPlanEntry entry) => byName.TryGetValue(entry.Name, out var t) ? t.Bytes : entry.SourceBytes;

    public long TotalBytes(QuantizationPlan plan) => plan.Entries.Sum(BytesOf);

    /// <summary>Type and bytes together, for <see cref="QuantizationPlan.ToTable(Func{QuantizationPlanEntry, ValueTuple{string, long}})"/>.</summary>
    public (string Type, long Bytes) Of(QuantizationPlanEntry entry) => (TypeOf(entry), BytesOf(entry));

    /// <summary>Whether the output holds the tensor as the input does: a BF16 norm written as F32 is converted, not copied.</summary>
    public bool IsCopied(QuantizationPlanEntry entry) => entry.IsCopied && TypeOf(entry) == GgmlTypeInfo.Of(entry.TargetType).Name;
}
