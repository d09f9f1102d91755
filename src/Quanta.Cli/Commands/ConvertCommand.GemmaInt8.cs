using System.CommandLine;
using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats;
using Quanta.Formats.PyTorch;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta convert MODEL.ckpt</c> for gemma_pytorch int8 checkpoints: the same types and pipeline as a Hugging
/// Face conversion, with Q8_0 written losslessly from the int8 values where the scalers allow.
/// </summary>
internal static partial class ConvertCommand
{
    static (Option<string> Variant, Option<string> Tokenizer) GemmaInt8Options() =>
    (
        new Option<string>("--variant")
        {
            Description = $"gemma_pytorch checkpoints: the model variant ({string.Join(", ", GemmaVariant.Known.Select(v => v.Name))}); default: recognised from the shapes",
            HelpName = "name",
        },
        new Option<string>("--tokenizer")
        {
            Description = "gemma_pytorch checkpoints: the SentencePiece model (default: tokenizer.model beside the checkpoint)",
            HelpName = "tokenizer.model",
        }
    );

    static void RunGemmaInt8(CliContext context, Request request, CancellationToken cancellationToken)
    {
        GemmaVariant? variant = null;
        if (request.Variant is { } name)
        {
            variant = GemmaVariant.Find(name)
                ?? throw new UserErrorException($"unknown Gemma variant '{name}'; known: {string.Join(", ", GemmaVariant.Known.Select(v => v.Name))}");
        }
        if (request.Tokenizer is { } tokenizerPath && !File.Exists(tokenizerPath))
        {
            throw new UserErrorException($"{tokenizerPath}: file not found");
        }
        GemmaInt8Conversion model;
        try
        {
            model = GemmaInt8Conversion.Open(request.Directory, variant, request.Tokenizer);
        }
        catch (Exception e) when (e is PyTorchFormatException or ConversionException or Conversion.Tokenizers.TokenizerFormatException)
        {
            throw new UserErrorException(e.Message, e);
        }
        using (model)
        {
            var typeText = request.Type.Trim();
            // The checkpoint's precision is int8 with per-row scales, which Q8_0 holds exactly: that is its auto.
            var converterType = CheckpointConversion.ParseConverterType(typeText, GemmaInt8Conversion.AutoType);
            QuantizationPreset? preset = null;
            if (converterType is null && !QuantizationPresets.TryParse(typeText, out preset))
            {
                throw new UserErrorException($"unknown type '{request.Type}': use f32, f16, bf16, q8_0, auto or a quantization type ('quanta types' lists them)");
            }
            if (converterType is not null && request.QuantizeOnlySwitch is { } quantizeOnly)
            {
                throw new UserErrorException($"{quantizeOnly} applies to quantization types (Q4_K_M ...), not to --type {typeText.ToLowerInvariant()}");
            }
            var typeLabel = converterType?.ToString() ?? preset!.Name;
            var outputPath = request.DryRun ? null : request.Output ?? DefaultOutput(model, typeLabel);
            QuantizationJob job;
            try
            {
                job = converterType is { } outType
                    ? CheckpointConversion.CreateJob(model, outType, outputPath, request.Run)
                    : CheckpointConversion.CreateJob(model, preset!, outputPath, request.Options, request.Run);
            }
            catch (QuantizationException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            catch (ArgumentException e)
            {
                throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
            }

            if (model.TokenizerKeys is null)
            {
                context.Error.WriteLine($"warning: no tokenizer.model beside '{model.CheckpointPath}' (give one with --tokenizer); the output has no tokenizer.* keys");
            }
            foreach (var warning in model.Warnings(job))
            {
                context.Error.WriteLine($"warning: {warning}");
            }
            var stored = new InputTensors(model.Tensors.ToDictionary(t => t.Info.Name, t => (t.StoredType, t.StoredBytes), StringComparer.Ordinal));
            Execute(context, request, [job], $"gemma_pytorch int8, variant {model.Model.Variant.Name}", typeLabel, cancellationToken, [stored]);
        }
    }

    static string DefaultOutput(GemmaInt8Conversion model, string typeLabel)
    {
        var metadata = model.CreateMetadata(0);
        var name = metadata.TryGetValue("general.name", out var n) ? n.AsString().Trim().Replace(' ', '-').Replace('/', '-') : "ggml-model";
        var size = metadata.TryGetValue("general.size_label", out var s) ? "-" + s.AsString() : "";
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model.CheckpointPath))!, string.Create(CultureInfo.InvariantCulture, $"{name}{size}-{typeLabel.ToUpperInvariant()}.gguf"));
    }
}
