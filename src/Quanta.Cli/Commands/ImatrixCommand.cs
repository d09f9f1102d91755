using System.CommandLine;
using System.Globalization;
using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Imatrix;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta imatrix -m MODEL -f TEXT [-o OUT] [-c 512] [-b N] [-ub N] [--chunks N] [--chunk N] [-t N]
/// [--process-output] [--no-ppl] [--output-format gguf|dat] [--output-frequency N] [--save-frequency N]
/// [--in-file A ...] [--show-statistics]</c>: llama-imatrix. The text's
/// chunks run through the model while every weight's input columns are summed (squared); the running
/// perplexity goes to stdout as <c>[1]x,[2]y,...</c>, progress to stderr. <c>--in-file</c> matrices (either
/// format) are merged first, weighted by their counts; without <c>-f</c> they are only merged. As llama-imatrix,
/// the output file is also saved every <c>--output-frequency</c> chunks (10) and a copy <c>OUT.at_N</c> every
/// <c>--save-frequency</c> chunks (0: never), at the moment the first weight reaches the chunk (the later weights
/// still hold the chunk before). <c>--show-statistics</c> prints the statistics of the one <c>--in-file</c> instead.
/// </summary>
internal static class ImatrixCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The GGUF model (not needed when only merging --in-file matrices)" };
        var file = new Option<string>("--file", "-f") { Description = "The calibration text (one trailing newline dropped, as llama-imatrix does)" };
        var output = new Option<string>("--output-file", "-o") { Description = "Where to write the matrix (default imatrix.gguf)", DefaultValueFactory = _ => "imatrix.gguf" };
        var format = new Option<string>("--output-format") { Description = "gguf (default, llama.cpp 2026) or dat (the legacy imatrix.dat)" };
        format.AcceptOnlyFromAmong("gguf", "dat");
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = "Tokens per chunk (default 512)", DefaultValueFactory = _ => 512 };
        // -b tokens per decode call (at most -c), -ub per forward pass; each pass of 16 tokens or more is one call.
        var batches = new BatchOptions();
        var chunks = new Option<int>("--chunks") { Description = "At most this many chunks (default: all)", DefaultValueFactory = _ => -1 };
        var skip = new Option<int>("--chunk") { Description = "Skip this many chunks at the start of the text" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var processOutput = new Option<bool>("--process-output") { Description = "Collect output.weight too" };
        var noPerplexity = new Option<bool>("--no-ppl") { Description = "Do not compute perplexity" };
        var inFiles = new Option<string[]>("--in-file") { Description = "A matrix to merge in (repeatable; GGUF or .dat)", AllowMultipleArgumentsPerToken = false };
        var outputFrequency = new Option<int>("--output-frequency") { Description = "Save the output file every N chunks (default 10)", DefaultValueFactory = _ => 10 };
        var saveFrequency = new Option<int>("--save-frequency") { Description = "Save a copy OUT.at_N every N chunks (default 0: never)" };
        var showStatistics = new Option<bool>("--show-statistics") { Description = "Print the statistics of the one --in-file matrix and stop" };
        var command = new Command("imatrix", "Compute an importance matrix over a calibration text, as llama-imatrix does, or merge matrices")
        {
            model, file, output, format, contextSize, chunks, skip, threads, processOutput, noPerplexity, inFiles,
            outputFrequency, saveFrequency, showStatistics,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(showStatistics))
            {
                if ((result.GetValue(inFiles) ?? []).Length != 1)
                {
                    result.AddError("a single imatrix file is required to compute tensor statistics: give it with --in-file FILE");
                }
                return;
            }
            if (result.GetResult(outputFrequency) is not null && result.GetValue(outputFrequency) < 1)
            {
                result.AddError("--output-frequency must be at least 1");
            }
            if (result.GetResult(saveFrequency) is not null && result.GetValue(saveFrequency) < 0)
            {
                result.AddError("--save-frequency must be 0 or more");
            }
            var hasText = result.GetResult(file) is not null;
            if (!hasText && (result.GetValue(inFiles) ?? []).Length == 0)
            {
                result.AddError("no prompt provided and no precomputed matrices (--in-file) to combine: give the text with -f FILE");
            }
            if (hasText && result.GetResult(model) is null)
            {
                result.AddError("give the model with -m MODEL");
            }
            // Validators see options the user gave; the defaults are applied later.
            if (result.GetResult(contextSize) is not null && result.GetValue(contextSize) < 4)
            {
                result.AddError("-c must be at least 4");
            }
        });
        batches.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(showStatistics))
            {
                var path = parseResult.GetRequiredValue(inFiles)[0];
                RequireFile(path);
                ImportanceMatrix statistics;
                try
                {
                    statistics = ImportanceMatrix.Load(path, parseResult.GetValue(contextSize));
                }
                catch (ImatrixFormatException e)
                {
                    throw new UserErrorException($"{path} is not a valid imatrix file: {e.Message}", e);
                }
                ImatrixStatisticsReport.Write(context, path, statistics);
                return Task.FromResult(ExitCodes.Success);
            }
            var options = new ImportanceMatrixOptions
            {
                Context = parseResult.GetValue(contextSize),
                Batch = parseResult.GetValue(batches.Batch),
                MicroBatch = parseResult.GetValue(batches.MicroBatch),
                MaxChunks = parseResult.GetValue(chunks),
                SkipChunks = parseResult.GetValue(skip),
                ProcessOutput = parseResult.GetValue(processOutput),
                ComputePerplexity = !parseResult.GetValue(noPerplexity),
                OutputFrequency = parseResult.GetValue(outputFrequency),
                SaveFrequency = parseResult.GetValue(saveFrequency),
            };
            Run(
                context,
                parseResult.GetValue(model),
                parseResult.GetValue(file),
                parseResult.GetRequiredValue(output),
                parseResult.GetValue(format),
                parseResult.GetValue(inFiles) ?? [],
                parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount,
                options,
                cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static void Run(
        CliContext context, string? modelPath, string? textPath, string outputPath, string? format, string[] inFiles, int threads,
        ImportanceMatrixOptions options, CancellationToken cancellationToken)
    {
        var legacy = format == "dat";
        if (format is null && !outputPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            context.Error.WriteLine("warning: saving the imatrix in GGUF format with a suffix other than .gguf; for the legacy format use --output-format dat");
        }
        var matrix = new ImportanceMatrix(options.Context);
        foreach (var inFile in inFiles)
        {
            RequireFile(inFile);
            context.Error.WriteLine($"loading imatrix from '{inFile}'");
            matrix.Merge(ImportanceMatrix.Load(inFile, options.Context), inFile);
        }
        if (textPath is not null)
        {
            // llama-imatrix's saves as it goes: the output file, or a copy OUT.at_N.
            void SaveAsItGoes(int? chunk) =>
                Save(context, matrix, chunk is { } n ? outputPath + ".at_" + n.ToString(CultureInfo.InvariantCulture) : outputPath, legacy, cancellationToken);
            Compute(context, modelPath!, textPath, threads, options, matrix, SaveAsItGoes, cancellationToken);
        }
        cancellationToken.ThrowIfCancellationRequested();
        Save(context, matrix, outputPath, legacy, cancellationToken);
        context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stored {matrix.Count} entries computed on {matrix.ChunkCount} chunks in {outputPath}"));
    }

    /// <summary>Writes the matrix in the chosen format (atomically), warning about the entries a .dat leaves out.</summary>
    static void Save(CliContext context, ImportanceMatrix matrix, string path, bool legacy, CancellationToken cancellationToken)
    {
        if (legacy)
        {
            var dat = matrix.ToDat(out var skipped);
            foreach (var name in skipped)
            {
                context.Error.WriteLine($"warning: entry '{name}' has partial data - skipping");
            }
            dat.Write(path);
        }
        else
        {
            matrix.WriteGguf(path, new GgufWriterOptions { CancellationToken = cancellationToken });
        }
    }

    static void Compute(
        CliContext context, string modelPath, string textPath, int threads, ImportanceMatrixOptions options, ImportanceMatrix matrix,
        Action<int?> save, CancellationToken cancellationToken)
    {
        RequireFile(modelPath);
        RequireFile(textPath);
        using var gguf = GgufFile.Open(modelPath);
        var vocabulary = Vocabulary.Load(gguf);
        if (vocabulary.AddEos)
        {
            // llama-imatrix asserts this: an EOS appended to the text would be scored as if it were text.
            throw new UserErrorException($"{modelPath}: the vocabulary appends EOS to every text, which the perplexity cannot score");
        }
        int? bos = vocabulary.AddBos ? vocabulary.Bos : null;
        var text = File.ReadAllBytes(textPath).AsSpan();
        if (text.Length > 0 && text[^1] == (byte)'\n')
        {
            text = text[..^1];
        }
        var tokens = new Tokenizer(vocabulary).Tokenize(text, addSpecial: true);
        using var llama = LlamaModel.Load(gguf, threads);
        try
        {
            var chunkCount = ImportanceMatrixComputation.ChunkCount(tokens.Length, options);
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"computing over {chunkCount} chunks of {options.Context} tokens, batch size {Math.Min(options.Batch, options.Context)}"));
            // The dataset is named in every save, the ones made as the computation goes included.
            matrix.Datasets.Add(textPath);
            var run = ImportanceMatrixComputation.Compute(llama, tokens, bos, matrix, options, new ChunkPrinter(context), cancellationToken, save);
            context.Out.Write('\n');
            if (options.ComputePerplexity)
            {
                context.Out.Write(double.IsNaN(run.Uncertainty)
                    ? "Unexpected negative standard deviation of log(prob)\n"
                    : string.Create(CultureInfo.InvariantCulture, $"Final estimate: PPL = {run.Perplexity:F4} +/- {run.Uncertainty:F5}\n"));
            }
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{run.Tokens} tokens in {run.Elapsed.TotalSeconds:F2} s ({run.Tokens / Math.Max(run.Elapsed.TotalSeconds, 1e-9):F2} tokens per second)"));
        }
        catch (EvaluationInputException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new UserErrorException(Directory.Exists(path) ? $"{path} is a directory, not a file" : $"{path}: no such file");
        }
    }

    /// <summary>llama-imatrix's <c>[i]ppl,</c> on stdout as each chunk completes, and the chunk count and speed on stderr.</summary>
    sealed class ChunkPrinter(CliContext context) : IProgress<ImportanceMatrixProgress>
    {
        public void Report(ImportanceMatrixProgress value)
        {
            if (!double.IsNaN(value.RunningPerplexity))
            {
                context.Out.Write(string.Create(CultureInfo.InvariantCulture, $"[{value.Chunk}]{value.RunningPerplexity:F4},"));
                context.Out.Flush();
            }
            var rate = value.Tokens / Math.Max(value.Elapsed.TotalSeconds, 1e-9);
            var left = TimeSpan.FromSeconds((value.ChunkCount - value.Chunk) * value.Elapsed.TotalSeconds / value.Chunk);
            var line = string.Create(CultureInfo.InvariantCulture, $"chunk {value.Chunk}/{value.ChunkCount}, {rate:F1} tokens/s, {left:mm\\:ss} left");
            if (context.ErrorIsTerminal)
            {
                context.Error.Write($"\r{line}   " + (value.Chunk == value.ChunkCount ? "\n" : ""));
            }
            else
            {
                context.Error.WriteLine(line);
            }
        }
    }
}
