using System.CommandLine;
using System.Globalization;
using Quanta.Formats.Gguf;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta perplexity -m MODEL -f TEXT [-c CTX] [-b N] [--chunks N] [-t N] [--kl-divergence-base FILE]
/// [--kl-divergence]</c>: llama-perplexity's measurement and output. Without --kl-divergence it prints
/// <c>[1]x,[2]y,...</c> and <c>Final estimate: PPL = X +/- Y</c>, writing the base log-probability file when
/// --kl-divergence-base is given; with --kl-divergence it reads that file (its tokens, so -f is not needed) and
/// prints llama-perplexity's per-chunk lines and statistics blocks.
/// </summary>
internal static class PerplexityCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The GGUF model", Required = true };
        var file = new Option<string>("--file", "-f") { Description = "The text (one trailing newline dropped, as llama-perplexity does)" };
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = "Tokens per chunk (default 512)", DefaultValueFactory = _ => 512 };
        var batches = new BatchOptions();
        var chunks = new Option<int>("--chunks") { Description = "At most this many chunks (default: all)", DefaultValueFactory = _ => -1 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var baseFile = new Option<string>("--kl-divergence-base") { Description = "The base log-probability file: written by a plain run, read with --kl-divergence" };
        var klDivergence = new Option<bool>("--kl-divergence") { Description = "Compare against --kl-divergence-base instead of measuring perplexity" };
        var command = new Command("perplexity", "Measure perplexity over a text, or KL divergence from a base model, as llama-perplexity does")
        {
            model, file, contextSize, chunks, threads, baseFile, klDivergence,
        };
        batches.AddTo(command);
        var cacheTypes = new CacheTypeOptions();
        cacheTypes.AddTo(command);
        command.Validators.Add(result =>
        {
            var kl = result.GetValue(klDivergence);
            if (kl && result.GetResult(baseFile) is null)
            {
                result.AddError("--kl-divergence needs --kl-divergence-base FILE (the base model's log-probabilities)");
            }
            if (!kl && result.GetResult(file) is null)
            {
                result.AddError("give the text with -f FILE");
            }
            if (result.GetResult(contextSize) is not null && result.GetValue(contextSize) < 4)
            {
                result.AddError("-c must be at least 4");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new Options(
                parseResult.GetRequiredValue(model),
                parseResult.GetValue(file),
                parseResult.GetValue(contextSize),
                parseResult.GetValue(chunks),
                parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount,
                parseResult.GetValue(baseFile),
                parseResult.GetValue(klDivergence))
            {
                MicroBatch = batches.PieceSize(parseResult),
                CacheTypes = cacheTypes.Read(parseResult),
            };
            Run(context, options, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    sealed record Options(string Model, string? Text, int Context, int Chunks, int Threads, string? BaseFile, bool KlDivergence)
    {
        /// <summary>A chunk is evaluated in pieces of this many tokens (the smaller of -b and -ub).</summary>
        public int MicroBatch { get; init; } = 512;

        /// <summary>The KV cache's types (<c>-ctk/-ctv</c>).</summary>
        public KvCacheTypes CacheTypes { get; init; } = KvCacheTypes.Default;
    }

    static void Run(CliContext context, Options options, CancellationToken cancellationToken)
    {
        InputFile.Require(options.Model, ".gguf file");
        using var gguf = GgufFile.Open(options.Model);
        var vocabulary = Vocabulary.Load(gguf);
        if (vocabulary.AddEos)
        {
            // llama-perplexity asserts this: an EOS appended to the text would be scored as if it were text.
            throw new UserErrorException($"{options.Model}: the vocabulary appends EOS to every text, which perplexity cannot score");
        }
        int? bos = vocabulary.AddBos ? vocabulary.Bos : null;
        using var llama = LlamaModel.Load(gguf, options.Threads, null, options.CacheTypes);
        llama.MicroBatch = options.MicroBatch;
        try
        {
            if (options.KlDivergence)
            {
                RunKlDivergence(context, llama, options, bos, cancellationToken);
            }
            else
            {
                RunPerplexity(context, llama, new Tokenizer(vocabulary), options, bos, cancellationToken);
            }
        }
        catch (EvaluationInputException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    static void RunPerplexity(CliContext context, LlamaModel llama, Tokenizer tokenizer, Options options, int? bos, CancellationToken cancellationToken)
    {
        InputFile.Require(options.Text!);
        var tokens = Perplexity.Tokenize(tokenizer, File.ReadAllBytes(options.Text!));
        // Checked before any base file is created, so a text too short leaves nothing behind.
        Perplexity.ChunkCount(tokens.Length, options.Context, options.Chunks);
        var progress = new ChunkPrinter(context.Out);
        if (options.BaseFile is null)
        {
            Print(context, Perplexity.Measure(llama, tokens, options.Context, bos, options.Chunks, null, progress, cancellationToken));
            return;
        }
        var full = Path.GetFullPath(options.BaseFile);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            PerplexityResult result;
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                result = Perplexity.Measure(llama, tokens, options.Context, bos, options.Chunks, stream, progress, cancellationToken);
            }
            File.Move(temporary, full, overwrite: true);
            Print(context, result);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    static void Print(CliContext context, PerplexityResult result)
    {
        context.Out.Write('\n');
        context.Out.Write(string.Create(CultureInfo.InvariantCulture, $"Final estimate: PPL = {result.Value:F4} +/- {result.Uncertainty:F5}\n"));
    }

    static void RunKlDivergence(CliContext context, LlamaModel llama, Options options, int? bos, CancellationToken cancellationToken)
    {
        InputFile.Require(options.BaseFile!);
        using var stream = new FileStream(options.BaseFile!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var statistics = Perplexity.MeasureKlDivergence(llama, stream, options.BaseFile!, options.Context, bos, (chunk, running) =>
        {
            context.Out.Write('\n');
            context.Out.Write(KlDivergenceStatistics.ChunkHeader + "\n");
            context.Out.Write(running.FormatChunkLine(chunk) + "\n");
            context.Out.Flush();
        }, cancellationToken);
        context.Out.Write('\n');
        if (statistics.FormatReport() is { } report)
        {
            context.Out.Write(report);
        }
    }

    /// <summary>Prints llama-perplexity's running <c>[i]ppl,</c> as each chunk completes (synchronously, in order).</summary>
    sealed class ChunkPrinter(TextWriter output) : IProgress<PerplexityProgress>
    {
        public void Report(PerplexityProgress value)
        {
            output.Write(string.Create(CultureInfo.InvariantCulture, $"[{value.Chunk}]{value.RunningPerplexity:F4},"));
            output.Flush();
        }
    }
}
