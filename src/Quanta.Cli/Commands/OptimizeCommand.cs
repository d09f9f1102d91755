using System.CommandLine;
using System.Globalization;
using System.Text;
using Quanta.Evaluation;
using Quanta.Formats;
using Quanta.Inference.Evaluation;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta optimize BASE -f CALIBRATION.txt --size SIZE | --bpw X [--imatrix FILE] -o OUT.gguf [-c 512]
/// [--chunks N] [--types q4_K,q6_K,...]</c>: measures how much each tensor group (a block's attention, a block's
/// FFN, the embedding, the output) costs in KL divergence in each candidate type, chooses the assignment with the
/// least predicted KL divergence within the size, and writes it, its <c>--tensor-type</c> rules recorded in
/// the file (<c>quantize.mix.*</c>) so that <c>quanta quantize BASE OUT PRESET --tensor-type-file OUT.gguf</c>
/// makes it again. Progress goes to stderr; stdout holds the table of groups.
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create(CliContext context)
    {
        var baseModel = CliArguments.InputPath("BASE", "The model to quantize: an F32/F16/BF16 GGUF, a stored model's name, or a Hugging Face checkpoint folder (converted to its 16-bit GGUF in a scratch folder)");
        var store = StoreArguments.StoreOption();
        var file = new Option<string>("--file", "-f") { Description = "The calibration text the sensitivities are measured on", Required = true };
        var size = new Option<string>("--size") { Description = "The largest file allowed, e.g. 4.5G or 800M (K/M/G/T: powers of 1024; KB/MB/GB/TB: of 1000)", HelpName = "SIZE" };
        var bpw = new Option<double?>("--bpw") { Description = "The most bits per weight allowed (tensor bytes × 8 over the weights, as eval counts them)", HelpName = "X" };
        var imatrix = new Option<string>("--imatrix") { Description = "Importance matrix every type is quantized with (as quantize's --imatrix)", HelpName = "file" };
        var output = new Option<string>("--output", "-o") { Description = "The GGUF file to write", Required = true, HelpName = "OUT.gguf" };
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = "Tokens per calibration chunk (default 512)", DefaultValueFactory = _ => 512 };
        var chunks = new Option<int>("--chunks") { Description = "At most this many calibration chunks (default: all)", DefaultValueFactory = _ => -1 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var types = new Option<string>("--types")
        {
            Description = "Comma-separated ggml types to choose among (default q2_K,q3_K,q4_K,iq4_xs,q5_K,q6_K,q8_0)",
            HelpName = "TYPE,...",
        };
        var command = new Command("optimize", "Choose a type per tensor group that minimises the KL divergence against the base at a size, and write the model")
        {
            baseModel, file, size, bpw, imatrix, output, contextSize, chunks, threads, types, store,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetResult(size) is null) == (result.GetResult(bpw) is null))
            {
                result.AddError("give the budget with either --size SIZE or --bpw X");
            }
            if (result.GetValue(size) is { } text && PlanCommand.ParseSize(text) is not > 0)
            {
                result.AddError($"--size takes a size such as 4.5G, 800M or 8000000; not '{text}'");
            }
            if (result.GetValue(bpw) is <= 0)
            {
                result.AddError("--bpw must be positive");
            }
            if (result.GetResult(contextSize) is not null && result.GetValue(contextSize) < 4)
            {
                result.AddError("-c must be at least 4");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var basePath = parseResult.GetRequiredValue(baseModel);
            var text = parseResult.GetRequiredValue(file);
            var outputPath = parseResult.GetRequiredValue(output);
            var checkpoint = ModelInput.IsCheckpoint(basePath) ? basePath : null;
            if (checkpoint is null)
            {
                basePath = ModelInput.GgufPath(basePath, () => StoreArguments.Open(parseResult, store));
            }
            InputFile.Require(text);
            if (Path.GetDirectoryName(Path.GetFullPath(outputPath)) is { } folder && !Directory.Exists(folder))
            {
                throw new UserErrorException($"{outputPath}: the folder {folder} does not exist");
            }
            SizeBudget budget = parseResult.GetValue(size) is { } s
                ? new SizeBudget.FileBytes(PlanCommand.ParseSize(s)!.Value)
                : new SizeBudget.BitsPerWeight(parseResult.GetValue(bpw)!.Value);
            var options = new OptimizeOptions
            {
                Context = parseResult.GetValue(contextSize),
                MaxChunks = parseResult.GetValue(chunks),
                Threads = parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount,
                Types = parseResult.GetValue(types) is { } list ? ParseTypes(list) : OptimizeOptions.DefaultTypes,
                Importance = parseResult.GetValue(imatrix) is { } matrix ? LoadImportance(matrix) : null,
                ScratchDirectory = Path.GetDirectoryName(Path.GetFullPath(outputPath)),
            };
            OptimizeResult result;
            var converted = checkpoint is null ? null : Path.Combine(options.ScratchDirectory!, $".quanta-optimize-base-{Environment.ProcessId}.gguf");
            try
            {
                if (checkpoint is not null)
                {
                    context.Error.WriteLine($"converting {checkpoint} ...");
                    basePath = ModelInput.ConvertCheckpoint(checkpoint, converted!, options.Threads, cancellationToken);
                }
                result = MixOptimizer.Run(basePath, File.ReadAllBytes(text), budget, outputPath, options, new StageReporter(context.Error), cancellationToken);
            }
            catch (EvaluationInputException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            catch (QuantizationException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            finally
            {
                if (converted is not null)
                {
                    File.Delete(converted);
                }
            }
            context.Error.WriteLine();
            context.Out.Write(Table(basePath, outputPath, options, result));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static GgmlType[] ParseTypes(string list)
    {
        var parsed = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => GgmlTypeInfo.TryParse(name, out var info) && info.IsQuantized
                ? info.Type
                : throw new UserErrorException($"--types: '{name}' is not a quantized ggml type (see 'quanta types')"))
            .Distinct().ToArray();
        return parsed.Length > 0 ? parsed : throw new UserErrorException("--types: give at least one type");
    }

    static ImportanceWeights LoadImportance(string path)
    {
        InputFile.Require(path);
        try
        {
            return ImportanceWeights.Load(path);
        }
        catch (QuantizationException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    static string Table(string basePath, string outputPath, OptimizeOptions options, OptimizeResult result)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"{Path.GetFileName(outputPath)}: {result.FileSize} bytes ({result.FileSize / 1048576.0:F2} MiB), {result.BitsPerWeight:F3} bits per weight, ");
        text.Append(c, $"predicted mean KLD {result.PredictedKlDivergence:F6} ({result.Chunks} calibration chunk(s) of {options.Context} tokens)\n\n");
        text.Append("Mean KL divergence against the base with only the group quantized, in each type (* chosen):\n\n");
        text.Append("| group | tensors | ").AppendJoin(" | ", options.Types.Select(t => GgmlTypeInfo.Of(t).Name)).Append(" |\n");
        text.Append("| --- | ---: |").Append(string.Concat(options.Types.Select(_ => " ---: |"))).Append('\n');
        foreach (var group in result.Groups)
        {
            text.Append(c, $"| {group.Group.Name} | {group.Group.Tensors.Count} |");
            foreach (var m in group.Measurements)
            {
                text.Append(c, $" {m.MeanKlDivergence:F6}{(m.Type == group.Chosen ? "*" : "")} |");
            }
            text.Append('\n');
        }
        text.Append(c, $"\nrules ({MixRecipe.TensorTypesKey}): {result.Recipe.RulesText}\n");
        text.Append(c, $"to make it again: quanta quantize {basePath} OUT.gguf {result.Recipe.Preset} --tensor-type-file {outputPath}");
        text.Append(options.Importance is null ? "\n" : " --imatrix FILE\n");
        return text.ToString();
    }

    /// <summary>One stderr line per stage, the chunks of a stage on it as they complete.</summary>
    sealed class StageReporter(TextWriter error) : IProgress<EvaluationProgress>
    {
        string? _stage;

        public void Report(EvaluationProgress value)
        {
            if (value.Stage != _stage)
            {
                error.Write(_stage is null ? "" : "\n");
                error.Write(value.Stage == "base" ? $"base: {value.Model}" : value.Stage == "quantize" || value.Stage == "write" ? $"{value.Stage}: {value.Model}" : value.Stage);
                _stage = value.Stage;
            }
            if (value.ChunkCount > 0)
            {
                error.Write(string.Create(CultureInfo.InvariantCulture, $" [{value.Chunk}/{value.ChunkCount}]"));
            }
            error.Flush();
        }
    }
}
