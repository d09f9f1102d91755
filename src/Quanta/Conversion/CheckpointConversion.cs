using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Formats.Safetensors;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>
/// Turns an opened checkpoint into a quantization job: the converter's own output types (f32, f16, bf16,
/// q8_0, auto) give what <c>convert_hf_to_gguf.py --outtype</c> writes, and a quantize preset gives what
/// converting to f32 and quantizing that file would, in one pass. Used wherever a checkpoint is written as a
/// GGUF without an intermediate file: <c>quanta convert</c> and <c>create</c> with <c>FROM ./hf-dir</c>.
/// </summary>
public static class CheckpointConversion
{
    /// <summary><c>--outtype auto</c> (convert_hf_to_gguf.py, 2026): f16 when the first tensor is float16, otherwise bf16.</summary>
    public static ConverterOutputType AutoType(ConvertedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.FirstTensorType == SafetensorsDType.F16 ? ConverterOutputType.F16 : ConverterOutputType.BF16;
    }

    /// <summary>
    /// The converter's own output type that <paramref name="text"/> names (f32, f16, bf16, q8_0, case-insensitive), or
    /// <paramref name="auto"/> for <c>auto</c>; null for anything else (a quantize preset, or an unknown name).
    /// </summary>
    public static ConverterOutputType? ParseConverterType(string text, ConverterOutputType auto)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "F32" => ConverterOutputType.F32,
            "F16" => ConverterOutputType.F16,
            "BF16" => ConverterOutputType.BF16,
            "Q8_0" => ConverterOutputType.Q8_0,
            "AUTO" => auto,
            _ => null,
        };
    }

    /// <summary>A job writing the converter's own output type, its metadata overridden by <c>--override-kv</c>.</summary>
    /// <exception cref="QuantizationException">The plan cannot be written.</exception>
    public static QuantizationJob CreateJob(ConvertedModel model, ConverterOutputType type, string? outputPath, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        run ??= QuantizerOptions.Default;
        var metadata = model.CreateMetadata((uint)ConverterTypeRules.FileTypeOf(type));
        foreach (var o in run.MetadataOverrides)
        {
            metadata.Set(o.Key, o.Value);
        }
        var plan = QuantizationPlan.FromDecisions(
            model.Tensors.Select(t => (t.Info, ConverterTypeRules.Choose(t, type))),
            ModelHyperparameters.FromMetadata(metadata),
            QuantizationPresets.Parse(type.ToString()));
        return QuantizationJob.Create(model.AsSource(metadata), plan, metadata, outputPath, run);
    }

    /// <summary>
    /// A job quantizing to <paramref name="preset"/> from exactly what the f32 conversion would hold, so the
    /// plan and the bytes are those of converting to f32 and then quantizing. Image tensors of a single-file
    /// multimodal model, which the preset keeps, arrive as the f16 / bf16 conversion writes them (F16, as Ollama
    /// ships them).
    /// </summary>
    /// <exception cref="QuantizationException">The model and options cannot be quantized.</exception>
    public static QuantizationJob CreateJob(ConvertedModel model, QuantizationPreset preset, string? outputPath, QuantizationOptions? options = null, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        var metadata = model.CreateMetadata((uint)LlamaFileType.AllF32);
        var source = model.Tensors.Any(IsImageTensor)
            ? model.AsSource(metadata, t => IsImageTensor(t) && ConverterTypeRules.Choose(t, ConverterOutputType.F16).Type == GgmlType.F16)
            : model.AsSource(metadata);
        return QuantizationJob.Create(source, preset, outputPath, options, run);
    }

    /// <summary>
    /// A job writing the converter's own output type from a gemma_pytorch int8 checkpoint (<c>quanta convert
    /// MODEL.ckpt --type T</c>), its metadata overridden by <c>--override-kv</c>. Q8_0 keeps the int8 values of
    /// every row whose scaler has an fp16 form.
    /// </summary>
    /// <exception cref="QuantizationException">The plan cannot be written.</exception>
    public static QuantizationJob CreateJob(GemmaInt8.GemmaInt8Conversion model, ConverterOutputType type, string? outputPath, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        run ??= QuantizerOptions.Default;
        var metadata = model.CreateMetadata((uint)ConverterTypeRules.FileTypeOf(type));
        foreach (var o in run.MetadataOverrides)
        {
            metadata.Set(o.Key, o.Value);
        }
        var plan = QuantizationPlan.FromDecisions(
            model.Tensors.Select(t => (t.Info, ConverterTypeRules.Choose(t.Info, t.Dimensions, type))),
            ModelHyperparameters.FromMetadata(metadata),
            QuantizationPresets.Parse(type.ToString()));
        return QuantizationJob.Create(model.AsSource(metadata), plan, metadata, outputPath, run);
    }

    /// <summary>A job quantizing a gemma_pytorch int8 checkpoint to <paramref name="preset"/> from its float32 values.</summary>
    /// <exception cref="QuantizationException">The model and options cannot be quantized.</exception>
    public static QuantizationJob CreateJob(GemmaInt8.GemmaInt8Conversion model, QuantizationPreset preset, string? outputPath, QuantizationOptions? options = null, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        return QuantizationJob.Create(model.AsSource(model.CreateMetadata((uint)LlamaFileType.AllF32)), preset, outputPath, options, run);
    }

    static bool IsImageTensor(ConvertedTensor tensor) => MultimodalTensors.ComponentOf(tensor.Info.Name) != MultimodalComponent.None;

    /// <summary>The <c>general.file_type</c> name the job writes (BF16, Q4_K_M ...), for status lines.</summary>
    public static string FileTypeName(QuantizationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Metadata.TryGetValue(GgufKeys.FileType, out var ft) && ft.TryGetInteger(out var n)
            && LlamaFileTypes.TryGetName(n & ~LlamaFileTypes.GuessedFlag, out var name) ? name : "unknown";
    }
}
