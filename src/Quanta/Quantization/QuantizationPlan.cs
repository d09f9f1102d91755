using System.Globalization;
using System.Text;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;

namespace Quanta.Quantization;

/// <summary>
/// For each tensor of a model, in the order llama.cpp writes them, the type it gets and why: everything
/// llama-quantize decides before it touches a byte. Printable for a dry run.
/// </summary>
public sealed class QuantizationPlan
{
    QuantizationPlan(
        IReadOnlyList<QuantizationPlanEntry> entries,
        ModelHyperparameters model,
        QuantizationPreset preset,
        QuantizationOptions options,
        int fallbackCount)
    {
        Entries = entries;
        Model = model;
        Preset = preset;
        Options = options;
        FallbackCount = fallbackCount;
        SourceBytes = entries.Sum(e => e.SourceBytes);
        TargetBytes = entries.Sum(e => e.TargetBytes);
        ElementCount = entries.Sum(e => e.Tensor.ElementCount);
    }

    /// <summary>One entry per tensor, in <see cref="TensorOrder"/>.</summary>
    public IReadOnlyList<QuantizationPlanEntry> Entries { get; }

    public ModelHyperparameters Model { get; }

    public QuantizationPreset Preset { get; }

    public QuantizationOptions Options { get; }

    /// <summary>Tensors whose row length forced a fallback type.</summary>
    public int FallbackCount { get; }

    /// <summary>Tensor bytes in the input (metadata and padding not counted, as in llama.cpp's summary).</summary>
    public long SourceBytes { get; }

    /// <summary>Tensor bytes in the output.</summary>
    public long TargetBytes { get; }

    public long ElementCount { get; }

    public double SourceBitsPerWeight => ElementCount == 0 ? 0 : SourceBytes * 8.0 / ElementCount;

    /// <summary>Bits per weight of the output, over all tensors (llama.cpp's "quant size ... BPW").</summary>
    public double BitsPerWeight => ElementCount == 0 ? 0 : TargetBytes * 8.0 / ElementCount;

    /// <summary>Some tensor cannot be written without an importance matrix, and none was given.</summary>
    public bool RequiresImportanceMatrix => !Options.HasImportanceMatrix && Entries.Any(e => e.RequiresImportanceMatrix);

    /// <summary>The entry for a tensor name, or null.</summary>
    public QuantizationPlanEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Plans a GGUF file: its tensors and the hyperparameters in its metadata.</summary>
    public static QuantizationPlan Create(GgufFile file, QuantizationPreset preset, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        // With --keep-split llama.cpp sorts by (split index, file offset); the plain order is by name.
        IEnumerable<GgufTensorInfo> tensors = options?.KeepSplit == true
            ? file.Tensors.OrderBy(t => t.ShardIndex).ThenBy(t => t.FileOffset).Select(t => t.Info)
            : file.Tensors.Select(t => t.Info);
        return Create(tensors, ModelHyperparameters.FromMetadata(file.Metadata), preset, options);
    }

    /// <summary>
    /// Plans a model given as tensor descriptions and hyperparameters. The tensors are visited in
    /// <see cref="TensorOrder"/>, or as given when <see cref="QuantizationOptions.KeepSplit"/> is set (the
    /// caller then passes them in the input's shard and offset order).
    /// </summary>
    public static QuantizationPlan Create(
        IEnumerable<GgufTensorInfo> tensors,
        ModelHyperparameters model,
        QuantizationPreset preset,
        QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        options ??= QuantizationOptions.Default;

        var ordered = options.KeepSplit ? [.. tensors] : TensorOrder.Sort(tensors, t => t.Name);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in ordered)
        {
            if (!seen.Add(tensor.Name))
            {
                throw new QuantizationException($"the model has two tensors named '{tensor.Name}'");
            }
        }

        var rules = new TensorTypeRules(model, preset, options, ordered.Select(t => t.Name));
        var entries = new QuantizationPlanEntry[ordered.Count];
        for (var i = 0; i < ordered.Count; i++)
        {
            var tensor = ordered[i];
            var decision = rules.Choose(tensor);
            // Only tensors llama.cpp actually quantizes are checked for the importance matrix requirement.
            var quantizable = !decision.Reason.IsKept();
            var needsImatrix = quantizable && TensorTypeRules.RequiresImportanceMatrix(tensor.Name, decision.Type, preset.FileType);
            entries[i] = new QuantizationPlanEntry(tensor, decision, needsImatrix);
        }
        return new QuantizationPlan(entries, model, preset, options, rules.FallbackCount);
    }

    /// <summary>
    /// A plan whose types were decided elsewhere, kept in the order given: what <c>quanta convert</c> uses for
    /// convert_hf_to_gguf's own output types (f32, f16, bf16, q8_0), whose rules are not llama-quantize's.
    /// </summary>
    public static QuantizationPlan FromDecisions(
        IEnumerable<(GgufTensorInfo Tensor, TensorTypeDecision Decision)> decisions,
        ModelHyperparameters model,
        QuantizationPreset preset)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        var entries = new List<QuantizationPlanEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (tensor, decision) in decisions)
        {
            if (!seen.Add(tensor.Name))
            {
                throw new QuantizationException($"the model has two tensors named '{tensor.Name}'");
            }
            entries.Add(new QuantizationPlanEntry(tensor, decision, false));
        }
        return new QuantizationPlan(entries, model, preset, QuantizationOptions.Default, entries.Count(e => e.IsFallback));
    }

    /// <summary>The plan as a table, one line per tensor, then the totals: what <c>--dry-run</c> prints.</summary>
    public string ToTable() => ToTable(null);

    /// <summary>
    /// The plan as a table, with each tensor's input type and bytes as <paramref name="input"/> gives them: a
    /// checkpoint read as float32 rows is shown as what it holds (bf16 ...), not as what the pipeline reads.
    /// </summary>
    public string ToTable(Func<QuantizationPlanEntry, (string Type, long Bytes)>? input)
    {
        input ??= e => (GgmlTypeInfo.Of(e.SourceType).Name, e.SourceBytes);
        var inputs = Entries.Select(input).ToArray();
        var inputBytes = inputs.Sum(i => i.Bytes);
        var culture = CultureInfo.InvariantCulture;
        var nameWidth = Math.Max(6, Entries.Count == 0 ? 0 : Entries.Max(e => e.Name.Length));
        var shapes = Entries.Select(e => "[" + string.Join(", ", e.Tensor.Shape) + "]").ToArray();
        var shapeWidth = Math.Max(5, shapes.Length == 0 ? 0 : shapes.Max(s => s.Length));
        var text = new StringBuilder();
        text.Append(culture, $"{"#",5}  {"tensor".PadRight(nameWidth)}  {"shape".PadRight(shapeWidth)}  {"from",-7}  {"to",-7}  {"MiB in",9}  {"MiB out",9}  why").AppendLine();
        for (var i = 0; i < Entries.Count; i++)
        {
            var e = Entries[i];
            var why = e.Decision.Detail;
            if (e.Decision.FallbackFrom is { } from)
            {
                why += $"; row length {e.Tensor.RowLength} does not fit {GgmlTypeInfo.Of(from).Name}, fell back";
            }
            if (e.RequiresImportanceMatrix)
            {
                why += "; needs an importance matrix";
            }
            text.Append(culture, $"{i + 1,5}  {e.Name.PadRight(nameWidth)}  {shapes[i].PadRight(shapeWidth)}  {inputs[i].Type,-7}  {GgmlTypeInfo.Of(e.TargetType).Name,-7}  {Mib(inputs[i].Bytes),9:F3}  {Mib(e.TargetBytes),9:F3}  {why}").AppendLine();
        }
        text.Append(culture, $"preset {Preset.Name} ({Preset.FileTypeNumber}), {Entries.Count} tensors").AppendLine();
        text.Append(culture, $"model size = {Mib(inputBytes),10:F2} MiB ({(ElementCount == 0 ? 0 : inputBytes * 8.0 / ElementCount):F2} BPW)").AppendLine();
        text.Append(culture, $"quant size = {Mib(TargetBytes),10:F2} MiB ({BitsPerWeight:F2} BPW)").AppendLine();
        if (FallbackCount > 0)
        {
            text.Append(culture, $"warning: {FallbackCount} of {Entries.Count} tensor(s) required fallback quantization").AppendLine();
        }
        if (RequiresImportanceMatrix)
        {
            text.AppendLine("warning: this quantization requires an importance matrix (--imatrix)");
        }
        return text.ToString();
    }

    public override string ToString() => ToTable();

    static double Mib(long bytes) => bytes / 1024.0 / 1024.0;
}
