using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta bench -m MODEL [-m MODEL2] [-p 128] [-n 128] [-t N] [-r 5] [-b 2048] [-ub 512] [-o md|json]</c>:
/// llama-bench's tests and report. For each model, each prompt length is a test <c>ppP</c> (one sequence of P
/// random tokens, BOS first when the vocabulary adds one, evaluated in batches of <c>-b</c> split into micro-batches
/// of <c>-ub</c>) and each generation length a test <c>tgN</c> (N single-token evaluations through the KV cache).
/// As llama-bench does, a test is run once unmeasured (the whole prompt; one generated token), then <c>-r</c>
/// times from an empty cache; tokens per second are <c>(P + N) / time</c> per run, averaged, with the sample
/// standard deviation. Only the last position's logits are asked for, as <c>llama_batch_get_one</c> asks.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Option<string[]>("--model", "-m") { Description = "A GGUF model (repeat for several)", Required = true };
        var prompts = new Option<string>("--n-prompt", "-p") { Description = "Prompt lengths, comma separated (0: none)", DefaultValueFactory = _ => "512" };
        var generations = new Option<string>("--n-gen", "-n") { Description = "Generation lengths, comma separated (0: none)", DefaultValueFactory = _ => "128" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var repetitions = new Option<int>("--repetitions", "-r") { Description = "Measured runs of each test", DefaultValueFactory = _ => 5 };
        var batches = new BatchOptions();
        var output = new Option<string>("--output", "-o") { Description = "md (a markdown table, as llama-bench prints) or json", DefaultValueFactory = _ => "md" };
        output.AcceptOnlyFromAmong("md", "json");
        var command = new Command("bench", "Measure prompt processing and generation speed, as llama-bench does")
        {
            models, prompts, generations, threads, repetitions, output,
        };
        batches.AddTo(command);
        command.Validators.Add(result =>
        {
            Check(result, threads, t => t >= 0, "-t must be a number of threads");
            Check(result, repetitions, r => r >= 1, "-r must be at least 1");
            foreach (var list in new[] { prompts, generations })
            {
                if (result.GetResult(list) is not null && !TryParseLengths(result.GetValue(list) ?? "", out _))
                {
                    result.AddError($"{list.Name} takes token counts separated by commas, e.g. 128,512");
                }
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            TryParseLengths(parseResult.GetValue(prompts) ?? "", out var promptLengths);
            TryParseLengths(parseResult.GetValue(generations) ?? "", out var generationLengths);
            var settings = new Settings(
                promptLengths, generationLengths,
                parseResult.GetValue(threads) is > 0 and var t ? t : Environment.ProcessorCount,
                parseResult.GetValue(repetitions),
                parseResult.GetValue(batches.Batch),
                parseResult.GetValue(batches.MicroBatch));
            Run(context, parseResult.GetRequiredValue(models), settings, parseResult.GetValue(output) == "json", cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    internal sealed record Settings(int[] PromptLengths, int[] GenerationLengths, int Threads, int Repetitions, int Batch, int MicroBatch);

    /// <summary>One row of the report: a model and one test's samples.</summary>
    internal sealed record Result(string ModelPath, string ModelType, long ModelSize, long Parameters, Settings Settings, int Prompt, int Generated, long[] SamplesNs, string Time)
    {
        public double[] TokensPerSecond => [.. SamplesNs.Select(ns => 1e9 * (Prompt + Generated) / ns)];

        public string Test => Generated == 0 ? $"pp{Prompt}" : Prompt == 0 ? $"tg{Generated}" : $"pp{Prompt}+tg{Generated}";
    }

    static void Run(CliContext context, string[] modelPaths, Settings settings, bool json, CancellationToken cancellationToken)
    {
        foreach (var path in modelPaths)
        {
            InputFile.Require(path, ".gguf file");
        }
        if (json)
        {
            context.Out.Write("[\n");
        }
        else
        {
            context.Out.Write("| model                          |       size |     params | backend    | threads |          test |                  t/s |\n");
            context.Out.Write("| ------------------------------ | ---------: | ---------: | ---------- | ------: | ------------: | -------------------: |\n");
        }
        var first = true;
        foreach (var path in modelPaths)
        {
            using var file = GgufFile.Open(path);
            using var model = LlamaModel.Load(file, settings.Threads);
            model.MicroBatch = Math.Min(settings.Batch, settings.MicroBatch);
            var tests = settings.PromptLengths.Where(p => p > 0).Select(p => (Prompt: p, Generated: 0))
                .Concat(settings.GenerationLengths.Where(n => n > 0).Select(n => (Prompt: 0, Generated: n)));
            foreach (var (prompt, generated) in tests)
            {
                var result = Measure(file, model, path, settings, prompt, generated, cancellationToken);
                if (json)
                {
                    context.Out.Write(first ? "" : ",\n");
                    context.Out.Write(FormatJson(result));
                }
                else
                {
                    context.Out.Write(FormatMarkdownRow(result) + "\n");
                }
                context.Out.Flush();
                first = false;
            }
        }
        context.Out.Write(json ? "\n]\n" : $"\nbuild: quanta {BuildVersion()}\n");
    }

    internal static Result Measure(GgufFile file, LlamaModel model, string path, Settings settings, int prompt, int generated, CancellationToken cancellationToken)
    {
        // llama-bench's context holds exactly the test's tokens; its tokens are rand() % n_vocab after a BOS.
        var contextLength = prompt + generated;
        var random = new Random(42);
        var vocabulary = Vocabulary.Load(file);
        int? bos = vocabulary.AddBos && vocabulary.Bos >= 0 ? vocabulary.Bos : null;
        var tokens = new int[Math.Max(prompt, 1)];
        var logits = new float[model.VocabularySize];
        void Prompt()
        {
            for (var i = 0; i < prompt; i++)
            {
                tokens[i] = i == 0 && bos is { } b ? b : random.Next(model.VocabularySize);
            }
            // llama-bench hands the model batches of -b tokens, which it evaluates in pieces of -ub.
            for (var done = 0; done < prompt;)
            {
                var n = Math.Min(prompt - done, settings.Batch);
                model.EvaluateLast(tokens.AsSpan(done, n), done, contextLength, logits, cancellationToken);
                done += n;
            }
        }
        void Generate(int count)
        {
            var token = bos ?? random.Next(model.VocabularySize);
            for (var i = 0; i < count; i++)
            {
                tokens[0] = token;
                model.EvaluateLast(tokens.AsSpan(0, 1), i, Math.Max(contextLength, 1), logits, cancellationToken);
                token = random.Next(model.VocabularySize);
            }
        }
        // The unmeasured run: the whole prompt, or one generated token.
        if (prompt > 0)
        {
            Prompt();
        }
        else
        {
            Generate(1);
        }
        var samples = new long[settings.Repetitions];
        for (var r = 0; r < settings.Repetitions; r++)
        {
            var start = Stopwatch.GetTimestamp();
            if (prompt > 0)
            {
                Prompt();
            }
            if (generated > 0)
            {
                Generate(generated);
            }
            samples[r] = (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1e6);
        }
        var fileType = file.Metadata.LenientInteger(GgufKeys.FileType);
        var architecture = file.Metadata.GetStringOrNull(GgufKeys.Architecture) ?? "unknown";
        var modelType = $"{architecture} {SizeLabel(architecture, model.Hyperparameters, model.VocabularySize)} {(fileType is { } f ? LlamaFileTypes.LlamaCppName(f) : "unknown, may not work")}";
        return new Result(
            path, modelType,
            file.Tensors.Sum(t => t.Info.ByteSize),
            file.Tensors.Sum(t => t.Info.ElementCount),
            settings, prompt, generated, samples,
            DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }

    /// <summary>llama.cpp's size class from the layer count (<c>load_hparams</c>), <c>?B</c> where it knows none.</summary>
    static string SizeLabel(string architecture, TransformerHyperparameters hp, int vocabulary) => (architecture, hp.BlockCount) switch
    {
        ("llama", 16 or 22) => "1B",
        ("llama", 26 or 28) => "3B",
        ("llama", 32) => vocabulary == 49152 ? "3B" : vocabulary < 40000 ? "7B" : "8B",
        ("llama", 36) => "8B",
        ("llama", 40) => "13B",
        ("llama", 48) => "34B",
        ("llama", 60) => "30B",
        ("llama", 80) => hp.HeadCount == hp.KvHeadCount ? "65B" : "70B",
        ("gemma", 18) => "2B",
        ("gemma", 28) => "7B",
        _ => "?B",
    };

    internal static string FormatMarkdownRow(Result result)
    {
        var size = result.ModelSize < 1L << 30
            ? string.Create(CultureInfo.InvariantCulture, $"{result.ModelSize / 1024.0 / 1024.0:F2} MiB")
            : string.Create(CultureInfo.InvariantCulture, $"{result.ModelSize / 1024.0 / 1024.0 / 1024.0:F2} GiB");
        var parameters = result.Parameters < 1_000_000_000
            ? string.Create(CultureInfo.InvariantCulture, $"{result.Parameters / 1e6:F2} M")
            : string.Create(CultureInfo.InvariantCulture, $"{result.Parameters / 1e9:F2} B");
        var (average, deviation) = Statistics(result.TokensPerSecond);
        var rate = string.Create(CultureInfo.InvariantCulture, $"{average:F2} ± {deviation:F2}");
        return string.Create(CultureInfo.InvariantCulture,
            $"| {result.ModelType,-30} | {size,10} | {parameters,10} | {"CPU",-10} | {result.Settings.Threads,7} | {result.Test,13} | {rate,20} |");
    }

    /// <summary>One test as llama-bench's <c>-o json</c> writes it: its fields, in its order, with its value types.</summary>
    internal static string FormatJson(Result result)
    {
        var (averageNs, deviationNs) = Statistics([.. result.SamplesNs.Select(s => (double)s)]);
        var (average, deviation) = Statistics(result.TokensPerSecond);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("build_commit", BuildVersion());
            writer.WriteNumber("build_number", 0);
            writer.WriteString("cpu_info", CpuName());
            writer.WriteString("gpu_info", "");
            writer.WriteString("backends", "CPU");
            writer.WriteString("model_filename", result.ModelPath);
            writer.WriteString("model_type", result.ModelType);
            writer.WriteNumber("model_size", result.ModelSize);
            writer.WriteNumber("model_n_params", result.Parameters);
            writer.WriteNumber("n_batch", result.Settings.Batch);
            writer.WriteNumber("n_ubatch", result.Settings.MicroBatch);
            writer.WriteNumber("n_threads", result.Settings.Threads);
            writer.WriteString("type_k", "f16");
            writer.WriteString("type_v", "f16");
            writer.WriteBoolean("use_mmap", true);
            writer.WriteNumber("n_prompt", result.Prompt);
            writer.WriteNumber("n_gen", result.Generated);
            writer.WriteString("test_time", result.Time);
            writer.WriteNumber("avg_ns", (long)averageNs);
            writer.WriteNumber("stddev_ns", (long)deviationNs);
            writer.WriteNumber("avg_ts", average);
            writer.WriteNumber("stddev_ts", deviation);
            writer.WriteStartArray("samples_ns");
            foreach (var sample in result.SamplesNs)
            {
                writer.WriteNumberValue(sample);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("samples_ts");
            foreach (var sample in result.TokensPerSecond)
            {
                writer.WriteNumberValue(sample);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        // Indented as llama-bench's objects are, two spaces in from the array's bracket.
        var text = Encoding.UTF8.GetString(stream.ToArray());
        return "  " + text.ReplaceLineEndings("\n  ");
    }

    /// <summary>llama-bench's <c>avg</c> and <c>stdev</c>: the mean and the sample standard deviation (0 for one sample).</summary>
    internal static (double Average, double Deviation) Statistics(double[] values)
    {
        var average = values.Average();
        if (values.Length <= 1)
        {
            return (average, 0);
        }
        var squares = values.Sum(v => v * v);
        var variance = (squares / (values.Length - 1)) - (average * average * values.Length / (values.Length - 1));
        return (average, Math.Sqrt(Math.Max(0, variance)));
    }

    internal static bool TryParseLengths(string text, out int[] lengths)
    {
        lengths = [];
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
            {
                return false;
            }
        }
        lengths = values;
        return true;
    }

    static string BuildVersion() =>
        typeof(BenchCommand).Assembly.GetName().Version?.ToString() ?? "unknown";

    static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    static void Check<T>(CommandResult result, Option<T> option, Func<T, bool> valid, string message)
    {
        if (result.GetResult(option) is not null && !valid(result.GetValue(option)!))
        {
            result.AddError(message);
        }
    }
}
