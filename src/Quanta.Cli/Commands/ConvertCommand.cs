using System.CommandLine;
using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta convert HF_DIR --type T -o OUT.gguf</c>: a Hugging Face checkpoint to GGUF in one pass. The
/// converter's own types (f32, f16, bf16, q8_0, auto) give what <c>convert_hf_to_gguf.py --outtype</c>
/// writes; any <c>quanta quantize</c> preset gives what converting to f32 and then quantizing would, byte
/// for byte, without the intermediate file.
/// </summary>
internal static partial class ConvertCommand
{
    /// <summary>The tokenizer import; tests may swap in a fake.</summary>
    internal static ITokenizerKeysSource? TokenizerSource { get; set; } = CheckpointTokenizerSource.Instance;

    public static Command Create(CliContext context)
    {
        var input = CliArguments.InputPath("HF_DIR", "The checkpoint directory: config.json, model.safetensors or model-0000N-of-0000M.safetensors with model.safetensors.index.json; or a gemma_pytorch int8 MODEL.ckpt (or its directory)");
        var type = new Option<string>("--type", "--outtype")
        {
            Description = "f32, f16, bf16, q8_0 (as convert_hf_to_gguf.py writes them), auto (f16 for a float16 checkpoint, else bf16) or any 'quanta quantize' type (Q4_K_M ...)",
            HelpName = "type",
            DefaultValueFactory = _ => "auto",
        };
        var output = new Option<string>("--output", "-o") { Description = "Output file (default: <HF_DIR>/<Name>-<size>-<TYPE>.gguf)", HelpName = "OUT.gguf" };
        var mmproj = new Option<bool>("--mmproj")
        {
            Description = "Multimodal models: write llama.cpp's layout, the text model to OUT.gguf and the vision tower with its projector to mmproj-OUT.gguf (architecture clip); without it one file holds both, as Ollama packages them",
        };
        var o = new QuantizeCommand.Switches();
        var (variant, tokenizer) = GemmaInt8Options();
        var command = new Command("convert", "Convert a Hugging Face checkpoint (safetensors) to GGUF, straight to any quantization")
        {
            input, type, output, mmproj, o.Pure, o.OutputTensorType, o.TokenEmbeddingType, o.TensorType, o.TensorTypeFile,
            o.LeaveOutputTensor, o.OverrideKv, o.SplitMaxSize, o.SplitMaxTensors, o.Shards, o.Shard, o.PruneLayers, o.VisionType, o.ProjectorType, o.Threads, o.DryRun, o.Imatrix, o.IncludeWeights, o.ExcludeWeights,
            variant, tokenizer,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var threads = parseResult.GetValue(o.Threads) ?? 0;
            if (threads < 0)
            {
                throw new UserErrorException($"invalid thread count {threads}");
            }
            var (options, run) = QuantizeCommand.ReadSwitches(parseResult, o, threads, keepSplit: false);
            var request = new Request(
                parseResult.GetRequiredValue(input),
                parseResult.GetValue(output),
                parseResult.GetValue(type) ?? "auto",
                options,
                run,
                parseResult.GetValue(o.DryRun),
                QuantizeOnlySwitch(parseResult, o),
                parseResult.GetValue(mmproj),
                parseResult.GetValue(variant),
                parseResult.GetValue(tokenizer));
            Run(context, request, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    sealed record Request(string Directory, string? Output, string Type, QuantizationOptions Options, QuantizerOptions Run, bool DryRun, string? QuantizeOnlySwitch,
        bool Mmproj = false, string? Variant = null, string? Tokenizer = null);

    /// <summary>The first switch given that only a quantize preset can honour, or null.</summary>
    static string? QuantizeOnlySwitch(ParseResult parseResult, QuantizeCommand.Switches o)
    {
        if (parseResult.GetValue(o.Pure))
        {
            return o.Pure.Name;
        }
        if (parseResult.GetValue(o.LeaveOutputTensor))
        {
            return o.LeaveOutputTensor.Name;
        }
        foreach (var option in new Option[] { o.OutputTensorType, o.TokenEmbeddingType, o.TensorType, o.TensorTypeFile, o.PruneLayers, o.VisionType, o.ProjectorType, o.Imatrix })
        {
            if (parseResult.GetResult(option) is { Implicit: false })
            {
                return option.Name;
            }
        }
        return null;
    }

    static void Run(CliContext context, Request request, CancellationToken cancellationToken)
    {
        if (GemmaInt8Conversion.IsCheckpoint(request.Directory))
        {
            using var checkpoint = OpenGemmaInt8(request);
            var noTokenizer = $"warning: no tokenizer.model beside '{checkpoint.CheckpointPath}' (give one with --tokenizer); the output has no tokenizer.* keys";
            Convert(context, request, checkpoint, null, $"gemma_pytorch int8, variant {checkpoint.Model.Variant.Name}", noTokenizer, cancellationToken);
            return;
        }
        if (request.Variant is not null || request.Tokenizer is not null)
        {
            throw new UserErrorException("--variant and --tokenizer apply to gemma_pytorch int8 checkpoints (*.ckpt)");
        }
        using var model = Open(() => ConvertedModel.Open(request.Directory, TokenizerSource, request.Mmproj ? MultimodalLayout.Projector : MultimodalLayout.SingleFile));
        using var projector = request.Mmproj ? Open(() => ConvertedModel.OpenProjector(request.Directory)) : null;
        var missingTokenizer = TokenizerSource is null
            ? "warning: tokenizer import is not available in this build; the output has no tokenizer.* keys, so llama.cpp cannot run it as is"
            : $"warning: no tokenizer files Quanta can read in '{request.Directory}'; the output has no tokenizer.* keys";
        Convert(context, request, model, projector, model.HfArchitecture, missingTokenizer, cancellationToken);
    }

    /// <summary>
    /// Any checkpoint to GGUF: the converter's own type or a quantize preset, with a projector file beside the
    /// model when <paramref name="projector"/> is given; warns about what the checkpoint cannot keep.
    /// </summary>
    static void Convert(CliContext context, Request request, IConvertedModel model, ConvertedModel? projector, string inputKind, string missingTokenizer,
        CancellationToken cancellationToken)
    {
        var typeText = request.Type.Trim();
        var converterType = CheckpointConversion.ParseConverterType(typeText, model.AutoOutputType);
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
        var plannedOutput = request.Output ?? DefaultOutput(model, typeLabel);
        var outputPath = request.DryRun ? null : plannedOutput;
        var jobs = new List<QuantizationJob>();
        try
        {
            jobs.Add(converterType is { } outType
                ? CheckpointConversion.CreateJob(model, outType, outputPath, request.Run)
                : CheckpointConversion.CreateJob(model, preset!, outputPath, request.Options, request.Run));
            // A projector is one small file beside the set: the task of shard 1 writes it.
            if (projector is not null && request.Run.OnlyShard is null or 1)
            {
                var projectorPath = outputPath is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, "mmproj-" + Path.GetFileName(outputPath));
                jobs.Add(ProjectorJob(projector, converterType, preset is null ? null : request.Options, projectorPath, request.Run with { MetadataOverrides = [], Shards = null, OnlyShard = null }));
            }
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
            context.Error.WriteLine(missingTokenizer);
        }
        foreach (var warning in model.Warnings(jobs[0]))
        {
            context.Error.WriteLine($"warning: {warning}");
        }
        IReadOnlyList<InputTensors> inputs = projector is null ? [StoredTensors(model)] : [StoredTensors(model), StoredTensors(projector)];
        Execute(context, request, jobs, inputKind, typeLabel, cancellationToken, inputs, plannedOutput);
    }

    /// <summary>The checkpoint's own types and sizes (BF16 ...), which the pipeline's float32 rows hide.</summary>
    static InputTensors StoredTensors(IConvertedModel model) =>
        new(model.StoredTensors.ToDictionary(t => t.Name, t => (t.Type, t.Bytes), StringComparer.Ordinal));

    /// <summary>
    /// Prints the plans of a dry run, or runs the jobs (the model, then any projector file) with progress and
    /// prints each summary.
    /// </summary>
    static void Execute(CliContext context, Request request, IReadOnlyList<QuantizationJob> jobs, string inputKind, string typeLabel, CancellationToken cancellationToken,
        IReadOnlyList<InputTensors>? inputs = null, string? plannedOutput = null)
    {
        if (request.DryRun)
        {
            for (var i = 0; i < jobs.Count; i++)
            {
                if (jobs.Count > 1)
                {
                    context.Out.WriteLine(i == 0 ? "text model:" : "projector (mmproj):");
                }
                context.Out.Write(jobs[i].Plan.ToTable((inputs?[i] ?? InputTensors.AsPlanned).Of));
                if (i == 0 && plannedOutput is not null)
                {
                    QuantizeCommand.WriteShardPlan(context, jobs[i], plannedOutput);
                }
            }
            return;
        }
        for (var i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            var input = inputs?[i] ?? InputTensors.AsPlanned;
            if (job.Plan.FallbackCount > 0)
            {
                context.Error.WriteLine($"warning: {job.Plan.FallbackCount} of {job.Plan.Entries.Count} tensor(s) required fallback quantization (row length not a multiple of the block size)");
            }
            context.Error.WriteLine(
                $"converting '{request.Directory}' ({inputKind}) to '{string.Join("', '", job.Files.Select(f => f.Path))}' as {(job == jobs[0] ? typeLabel : "projector")} using {request.Run.EffectiveThreads} thread(s)");
            QuantizeProgress.RunAndReport(context, job, request.Directory, cancellationToken, input);
        }
    }

    /// <summary>
    /// The projector file: as the converter writes it for the output type (F16 for a quantization preset,
    /// whose rules are for the text model), with the vision tower or projector quantized under the clip
    /// quantizer's rules when --vision-type / --projector-type ask for it.
    /// </summary>
    static QuantizationJob ProjectorJob(ConvertedModel projector, ConverterOutputType? converterType, QuantizationOptions? options, string? path, QuantizerOptions run)
    {
        var outType = converterType ?? ConverterOutputType.F16;
        var metadata = projector.CreateMetadata((uint)ConverterTypeRules.FileTypeOf(outType));
        var decisions = projector.Tensors.Select(t => (t.Info, ProjectorDecision(t, outType, options))).ToList();
        var plan = QuantizationPlan.FromDecisions(decisions, ModelHyperparameters.FromMetadata(metadata), QuantizationPresets.Parse(outType.ToString()));
        return QuantizationJob.Create(projector.AsSource(metadata), plan, metadata, path, run);
    }

    static TensorTypeDecision ProjectorDecision(ConvertedTensor tensor, ConverterOutputType outType, QuantizationOptions? options)
    {
        var decision = ConverterTypeRules.Choose(tensor, outType);
        var name = tensor.Info.Name;
        var component = MultimodalTensors.ComponentOf(name);
        if (options?.TypeFor(component) is not { } asked)
        {
            return decision;
        }
        var shape = tensor.Info.Shape;
        if ((TensorTypeRules.WhyNotQuantized(name, shape, leaveOutputTensor: false) ?? MultimodalTensors.WhyNotQuantized(name, shape, asked)) is { } why)
        {
            return new(decision.Type, TensorTypeReason.NotQuantizable, why);
        }
        var (reason, option) = component == MultimodalComponent.VisionTower
            ? (TensorTypeReason.VisionType, "--vision-type")
            : (TensorTypeReason.ProjectorType, "--projector-type");
        var detail = $"{option} {GgmlTypeInfo.Of(asked).Name}";
        var type = asked;
        if (MultimodalTensors.ForcesQ8_0(name, type))
        {
            detail += $"; embedding table {GgmlTypeInfo.Of(type).Name} -> q8_0 (clip rule)";
            type = GgmlType.Q8_0;
        }
        var resolved = MultimodalTensors.ResolveRow(type, tensor.Info.RowLength);
        return resolved == type ? new(type, reason, detail) : new(resolved, reason, detail, type);
    }

    static ConvertedModel Open(Func<ConvertedModel> open)
    {
        try
        {
            return open();
        }
        catch (ConversionException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    /// <summary>The converter's default name: <c>&lt;Name&gt;-&lt;size&gt;-&lt;TYPE&gt;.gguf</c> beside the checkpoint.</summary>
    static string DefaultOutput(IConvertedModel model, string typeLabel)
    {
        var metadata = model.CreateMetadata(0);
        var name = metadata.TryGetValue("general.name", out var n) ? n.AsString().Trim().Replace(' ', '-').Replace('/', '-') : "ggml-model";
        var size = metadata.TryGetValue("general.size_label", out var s) ? "-" + s.AsString() : "";
        return Path.Combine(model.OutputDirectory, string.Create(CultureInfo.InvariantCulture, $"{name}{size}-{typeLabel.ToUpperInvariant()}.gguf"));
    }
}
