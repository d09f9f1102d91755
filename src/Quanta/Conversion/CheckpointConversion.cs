using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
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

    /// <summary>
    /// A job writing the converter's own output type, its metadata overridden by <c>--override-kv</c>. From a
    /// gemma_pytorch int8 checkpoint, Q8_0 keeps the int8 values of every row whose scaler has an fp16 form.
    /// </summary>
    /// <exception cref="QuantizationException">The plan cannot be written.</exception>
    public static QuantizationJob CreateJob(IConvertedModel model, ConverterOutputType type, string? outputPath, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        run ??= QuantizerOptions.Default;
        var metadata = model.CreateMetadata((uint)ConverterTypeRules.FileTypeOf(type));
        CheckpointShapeCheck.Verify(model, metadata);
        foreach (var o in run.MetadataOverrides)
        {
            metadata.Set(o.Key, o.Value);
        }
        var plan = QuantizationPlan.FromDecisions(
            model.ConverterDecisions(type),
            ModelHyperparameters.FromMetadata(metadata),
            QuantizationPresets.Parse(type.ToString()));
        return QuantizationJob.Create(model.AsSource(metadata), plan, metadata, outputPath, run);
    }

    /// <summary>
    /// A job quantizing to <paramref name="preset"/> from exactly what the f32 conversion would hold, so the
    /// plan and the bytes are those of converting to f32 and then quantizing (<see cref="IConvertedModel.AsPresetSource"/>).
    /// </summary>
    /// <exception cref="QuantizationException">The model and options cannot be quantized.</exception>
    public static QuantizationJob CreateJob(IConvertedModel model, QuantizationPreset preset, string? outputPath, QuantizationOptions? options = null, QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        var metadata = model.CreateMetadata((uint)LlamaFileType.AllF32);
        CheckpointShapeCheck.Verify(model, metadata);
        return QuantizationJob.Create(model.AsPresetSource(metadata), preset, outputPath, options, run);
    }

    /// <summary>The <c>general.file_type</c> name the job writes (BF16, Q4_K_M ...), for status lines.</summary>
    public static string FileTypeName(QuantizationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return LlamaFileTypes.NameIgnoringGuess(job.Metadata.LenientInteger(GgufKeys.FileType)) ?? "unknown";
    }
}
