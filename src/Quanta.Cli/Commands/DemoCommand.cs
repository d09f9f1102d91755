using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Quanta.Cli.Rendering;
using Quanta.Codecs;
using Quanta.Demo;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Sampling;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta demo</c>: builds a small llama-style model in a temporary folder (nothing is downloaded),
/// quantizes it to Q4_K_M and Q8_0, and shows the plan, the summary and how far each tensor moved
/// (RMSE and largest error, decoded with the same codecs); then a trained model that ships with the tool continues
/// a prompt, so that real text comes out. <c>--write-model PATH</c> only writes the synthetic model, in any size:
/// the benchmark script uses it to make its 1 GB input.
/// </summary>
internal static class DemoCommand
{
    static readonly string[] Presets = ["Q4_K_M", "Q8_0"];

    /// <summary>
    /// tests/Quanta.Tests/Fixtures/models/tiny-llama-trained's Q8_0 file, copied beside the tool at build (and packed
    /// with it): an 11 M-parameter Llama trained on package READMEs and changelogs, so its greedy text is English.
    /// </summary>
    internal static string TrainedModelPath => Path.Combine(AppContext.BaseDirectory, "models", "tiny-llama-trained.Q8_0.gguf");

    internal const string TrainedModelPrompt = "The package";

    /// <summary>Enough tokens for a line of text, few enough that the demo stays quick.</summary>
    internal const int TrainedModelTokens = 16;

    public static Command Create(CliContext context)
    {
        var writeModel = new Option<string>("--write-model") { Description = "Only write the synthetic F16 model, with the Llama 2 tokenizer (32,000 tokens), to this path and stop", HelpName = "path" };
        var writeCheckpoint = new Option<string>("--write-checkpoint")
        {
            Description = "Only write the synthetic model as a BF16 Hugging Face checkpoint (config.json, model.safetensors and the Llama 2 tokenizer's files) into this directory and stop",
            HelpName = "dir",
        };
        var layers = new Option<int>("--layers") { Description = "Blocks", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "Embedding length", DefaultValueFactory = _ => 256 };
        var ffn = new Option<int>("--ffn") { Description = "Feed-forward length", DefaultValueFactory = _ => 768 };
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => 4 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "Key/value heads", DefaultValueFactory = _ => 2 };
        var vocab = new Option<int>("--vocab")
        {
            Description = $"Vocabulary size (default 1024; a written model has the Llama 2 tokenizer's {DemoTokenizer.Vocabulary})",
            DefaultValueFactory = _ => 1024,
        };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weights", DefaultValueFactory = _ => 42UL };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var command = new Command("demo", "Build a small synthetic model, quantize it to Q4_K_M and Q8_0, and show what changed")
        {
            writeModel, writeCheckpoint, layers, width, ffn, heads, kvHeads, vocab, seed, threads,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var writes = parseResult.GetValue(writeModel) is not null || parseResult.GetValue(writeCheckpoint) is not null;
            var vocabulary = parseResult.GetValue(vocab);
            if (writes)
            {
                // A written model must load in llama.cpp, so it carries a real tokenizer, and the embedding's rows are its tokens.
                if (parseResult.GetResult(vocab) is { Implicit: false } && vocabulary != DemoTokenizer.Vocabulary)
                {
                    throw new UserErrorException(string.Create(CultureInfo.InvariantCulture,
                        $"--vocab {vocabulary}: a written demo model carries the Llama 2 tokenizer, which has {DemoTokenizer.Vocabulary} tokens; leave --vocab out or give {DemoTokenizer.Vocabulary}"));
                }
                vocabulary = DemoTokenizer.Vocabulary;
            }
            var shape = new SyntheticLlamaShape(
                parseResult.GetValue(layers), parseResult.GetValue(width), parseResult.GetValue(ffn),
                parseResult.GetValue(heads), parseResult.GetValue(kvHeads), vocabulary, parseResult.GetValue(seed));
            if (parseResult.GetValue(writeCheckpoint) is { } checkpoint)
            {
                try
                {
                    SyntheticLlamaModel.WriteCheckpoint(checkpoint, shape, parseResult.GetValue(threads), DemoTokenizer.Files());
                }
                catch (ArgumentException e)
                {
                    throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
                }
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {checkpoint}: {shape.Layers} layers, width {shape.Width}, {Humanize.Count(shape.ParameterCount)} parameters, BF16 safetensors, Llama 2 tokenizer"));
                return Task.FromResult(ExitCodes.Success);
            }
            Run(context, shape, parseResult.GetValue(writeModel), parseResult.GetValue(threads), cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    internal static void Run(CliContext context, SyntheticLlamaShape shape, string? writeModel, int threads, CancellationToken cancellationToken)
    {
        var writerOptions = new GgufWriterOptions { CancellationToken = cancellationToken };
        // The demo's files are deleted at the end: no point waiting for them to reach the disk.
        var scratch = new GgufWriterOptions { CancellationToken = cancellationToken, FlushToDisk = false };
        if (writeModel is not null)
        {
            WriteModel(writeModel, shape, threads, writerOptions, DemoTokenizer.Keys());
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {writeModel}: {shape.Layers} layers, width {shape.Width}, {Humanize.Count(shape.ParameterCount)} parameters, F16, Llama 2 tokenizer"));
            return;
        }

        var folder = Path.Combine(Path.GetTempPath(), "quanta-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            var input = Path.Combine(folder, "demo-f16.gguf");
            WriteModel(input, shape, threads, scratch);
            var report = context.CreateReportWriter();
            report.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Built a synthetic llama model in {folder}: {shape.Layers} layers, width {shape.Width}, FFN {shape.FeedForward}, " +
                $"{shape.Heads} heads ({shape.KvHeads} KV), vocabulary {shape.Vocabulary}: {Humanize.Count(shape.ParameterCount)} F16 parameters, Gaussian weights (σ 0.02, seed {shape.Seed})."));

            using var model = GgufFile.Open(input);
            foreach (var name in Presets)
            {
                var output = Path.Combine(folder, $"demo-{name}.gguf");
                var job = QuantizationJob.Create(model, QuantizationPresets.Parse(name), output, null,
                    new QuantizerOptions { Threads = threads, Writer = scratch });
                report.WriteLine($"== {name}: the plan (what 'quanta quantize --dry-run' prints)");
                report.WriteLine(job.Plan.ToTable().TrimEnd());
                var result = Quantizer.Run(job, null, cancellationToken);
                QuantizeSummary.Write(report, input, result);
                report.WriteTable(ErrorTable(name, model, output, cancellationToken));
            }
            ContinueWithTrainedModel(context, report, threads, cancellationToken);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    /// <summary>
    /// Greedy tokens from the trained model, streamed through <c>quanta complete</c>'s own code path: the line a user
    /// can run next is printed above them.
    /// </summary>
    static void ContinueWithTrainedModel(CliContext context, IReportWriter report, int threads, CancellationToken cancellationToken)
    {
        var model = TrainedModelPath;
        if (!File.Exists(model))
        {
            report.WriteLine($"(No trained model beside this build of quanta ({model}), so no text to show.)");
            return;
        }
        report.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"== Real text: a trained 11M-parameter llama (Q8_0, {new FileInfo(model).Length / (1024 * 1024)} MiB) continues \"{TrainedModelPrompt}\" with {TrainedModelTokens} greedy tokens\n" +
            $"   (quanta complete -m {model} -p \"{TrainedModelPrompt}\" -n {TrainedModelTokens} --temp 0)\n"));
        context.Out.Write(TrainedModelPrompt);
        var options = new CompleteCommand.Options(model, TrainedModelPrompt, null, TrainedModelTokens,
            SamplingParameters.LlamaCli with { Temperature = 0 }, ContextSize: 64, threads > 0 ? threads : Environment.ProcessorCount, Ids: false);
        CompleteCommand.Run(context, options, cancellationToken);
        if (!context.OutIsTerminal)
        {
            // On a terminal complete ends its text with a newline itself; piped, it leaves the text as it is.
            context.Out.WriteLine();
        }
        context.Out.Flush();
    }

    static void WriteModel(string path, SyntheticLlamaShape shape, int threads, GgufWriterOptions options,
        IReadOnlyList<KeyValuePair<string, GgufValue>>? tokenizerKeys = null)
    {
        try
        {
            SyntheticLlamaModel.Write(path, shape, threads, options, tokenizerKeys);
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
        }
    }

    /// <summary>Every converted tensor decoded again and compared with the original: what quantization cost.</summary>
    static TextTable ErrorTable(string preset, GgufFile original, string quantizedPath, CancellationToken cancellationToken)
    {
        using var quantized = GgufFile.Open(quantizedPath);
        var table = new TextTable($"{preset}: error per tensor (decoded vs original)",
            new TextColumn("TENSOR"), new TextColumn("TYPE"), new TextColumn("RMSE", AlignRight: true),
            new TextColumn("REL. RMSE", AlignRight: true), new TextColumn("MAX |ERR|", AlignRight: true));
        foreach (var tensor in quantized.Tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var source = original.FindTensor(tensor.Name)!;
            if (tensor.Type == source.Type)
            {
                continue;
            }
            var error = RoundTripError.Measure(source, tensor);
            table.AddRow(tensor.Name, tensor.Type.ToString(),
                error.Rmse.ToString("0.000000", CultureInfo.InvariantCulture),
                (100 * error.RelativeRmse).ToString("0.00", CultureInfo.InvariantCulture) + "%",
                error.MaxAbsoluteError.ToString("0.000000", CultureInfo.InvariantCulture));
        }
        return table;
    }
}
