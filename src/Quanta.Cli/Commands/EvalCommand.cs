using System.CommandLine;
using System.Globalization;
using Quanta.Evaluation;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Models;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta eval BASE MODEL... -f TEXT [-c 512] [--chunks N] [--kl-divergence-base FILE] [--json] [--html FILE]
/// [--tensors] [--per-layer] [--pp 128] [--tg 32]</c>: the base evaluated once over the text (its log-probabilities
/// in llama-perplexity's base file), every candidate scored against it with <c>perplexity --kl-divergence</c>'s
/// code, and timed with <c>bench</c>'s pp and tg tests. Progress goes to stderr; stdout holds the table, or only
/// the JSON with <c>--json</c>.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var baseModel = CliArguments.InputPath("BASE", "The reference model: an F32/F16/BF16 GGUF, a stored model's name, or a Hugging Face checkpoint folder (converted to its 16-bit GGUF in a scratch folder)");
        var candidates = new Argument<string[]>("MODEL") { Description = "The quantized models to compare with the base (GGUF files or stored models' names)", Arity = ArgumentArity.OneOrMore };
        var store = StoreArguments.StoreOption();
        var file = new Option<string>("--file", "-f") { Description = "The text (one trailing newline dropped, as llama-perplexity does)" };
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = "Tokens per chunk (default 512)", DefaultValueFactory = _ => 512 };
        var chunks = new Option<int>("--chunks") { Description = "At most this many chunks (default: all)", DefaultValueFactory = _ => -1 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var baseFile = new Option<string>("--kl-divergence-base")
        {
            Description = "The base log-probability file (llama-perplexity's format): reused when it exists and -f is not given, else written",
        };
        var json = new Option<bool>("--json") { Description = "Print only JSON on stdout" };
        var html = new Option<string>("--html") { Description = "Also write a self-contained HTML report with plots", HelpName = "REPORT.html" };
        var tensors = new Option<bool>("--tensors") { Description = "Show each tensor's error against the base (RMSE and max error relative to its RMS)" };
        var perLayer = new Option<bool>("--per-layer") { Description = "Measure the KL divergence with only one layer quantized, for each layer" };
        var prompt = new Option<int>("--pp") { Description = "Prompt tokens of the speed test (bench's -p; 0: none)", DefaultValueFactory = _ => 128 };
        var generation = new Option<int>("--tg") { Description = "Generated tokens of the speed test (bench's -n; 0: none)", DefaultValueFactory = _ => 32 };
        var batches = new BatchOptions();
        var cacheTypes = new CacheTypeOptions();
        var command = new Command("eval", "Compare quantized models with their base: size, perplexity, KL divergence, top-token agreement and speed")
        {
            baseModel, candidates, file, contextSize, chunks, threads, baseFile, json, html, tensors, perLayer, prompt, generation, store,
        };
        batches.AddTo(command);
        cacheTypes.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(file) is null && result.GetResult(baseFile) is null)
            {
                result.AddError("give the text with -f FILE (or a saved base file with --kl-divergence-base FILE)");
            }
            if (result.GetResult(contextSize) is not null && result.GetValue(contextSize) < 4)
            {
                result.AddError("-c must be at least 4");
            }
            if (result.GetValue(prompt) < 0 || result.GetValue(generation) < 0)
            {
                result.AddError("--pp and --tg take token counts (0: no speed test)");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var threadCount = parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount;
            var pp = parseResult.GetValue(prompt);
            var tg = parseResult.GetValue(generation);
            var options = new EvaluationOptions
            {
                Context = parseResult.GetValue(contextSize),
                MaxChunks = parseResult.GetValue(chunks),
                Threads = threadCount,
                MicroBatch = batches.PieceSize(parseResult),
                CacheTypes = cacheTypes.Read(parseResult),
                TensorErrors = parseResult.GetValue(tensors) || parseResult.GetValue(html) is not null,
                PerLayer = parseResult.GetValue(perLayer),
                Speed = pp == 0 && tg == 0 ? null : SpeedProbe(new BenchCommand.Settings([pp], [tg], threadCount, 1, parseResult.GetValue(batches.Batch), parseResult.GetValue(batches.MicroBatch))),
            };
            Run(context, parseResult.GetRequiredValue(baseModel), parseResult.GetRequiredValue(candidates), parseResult.GetValue(file),
                parseResult.GetValue(baseFile), parseResult.GetValue(json), parseResult.GetValue(html), options, () => StoreArguments.Open(parseResult, store), cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary><c>bench</c>'s pp and tg tests on the model already loaded: one unmeasured run, then one measured.</summary>
    static SpeedProbe SpeedProbe(BenchCommand.Settings settings) => (file, model, cancellationToken) =>
    {
        double Rate(int prompt, int generated) => prompt + generated == 0
            ? double.NaN
            : BenchCommand.Measure(file, model, file.Path, settings, prompt, generated, cancellationToken).TokensPerSecond.Average();
        return new TokenSpeed(Rate(settings.PromptLengths[0], 0), Rate(0, settings.GenerationLengths[0]));
    };

    static void Run(
        CliContext context, string basePath, string[] candidates, string? text, string? baseFile, bool json, string? html,
        EvaluationOptions options, Func<Quanta.Store.ModelStore> store, CancellationToken cancellationToken)
    {
        var checkpoint = ModelInput.IsCheckpoint(basePath) ? basePath : null;
        if (checkpoint is null)
        {
            basePath = ModelInput.GgufPath(basePath, store);
        }
        candidates = [.. candidates.Select(c => ModelInput.GgufPath(c, store))];
        if (text is not null)
        {
            InputFile.Require(text);
        }
        else
        {
            InputFile.Require(baseFile!);
        }
        if (html is not null && Path.GetDirectoryName(Path.GetFullPath(html)) is { } folder && !Directory.Exists(folder))
        {
            throw new UserErrorException($"{html}: the folder {folder} does not exist");
        }
        // Without --kl-divergence-base the base file is a scratch file beside nothing the user owns.
        var scratch = Path.Combine(Path.GetTempPath(), $"quanta-eval-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            if (checkpoint is not null)
            {
                context.Error.WriteLine($"converting {checkpoint} ...");
                basePath = ModelInput.ConvertCheckpoint(checkpoint, Path.Combine(scratch, "base.gguf"), options.Threads, cancellationToken);
            }
            var logProbabilities = baseFile ?? Path.Combine(scratch, "base.kld");
            var report = QualityEvaluator.Run(
                basePath, candidates, text is null ? (ReadOnlyMemory<byte>?)null : File.ReadAllBytes(text), logProbabilities,
                options with { ScratchDirectory = scratch }, new StageReporter(context.Error), cancellationToken);
            context.Error.WriteLine();
            if (html is not null)
            {
                WriteAtomically(html, HtmlReport.Format(report));
                context.Error.WriteLine($"wrote {html}");
            }
            context.Out.Write(json ? EvaluationJson.Format(report) : EvaluationTable.Format(report));
        }
        catch (EvaluationInputException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    static void WriteAtomically(string path, string content)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temporary, content);
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>One stderr line per stage, the chunks of a stage on it as they complete.</summary>
    sealed class StageReporter(TextWriter error) : IProgress<EvaluationProgress>
    {
        string? _stage;

        public void Report(EvaluationProgress value)
        {
            var stage = $"{value.Stage} {value.Model}";
            if (stage != _stage)
            {
                error.Write(_stage is null ? "" : "\n");
                error.Write($"{value.Stage}: {value.Model}");
                _stage = stage;
            }
            if (value.ChunkCount > 0)
            {
                error.Write(string.Create(CultureInfo.InvariantCulture, $" [{value.Chunk}/{value.ChunkCount}]"));
            }
            error.Flush();
        }
    }
}
