using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Quanta.Evaluation;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta plan MODEL.gguf [--type PRESET...] [--ctx N] [-ctk/-ctv f16|q8_0|q4_0] [--parallel N] [--budget SIZE]
/// [--json]</c>: what each preset costs before anything is quantized — the exact file <c>quantize</c> would write,
/// the KV cache for the context, the compute buffers and the total; with a budget, the presets that fit, best
/// quality (llama.cpp's published KL divergence) first.
/// </summary>
internal static class PlanCommand
{
    static readonly string[] DefaultPresets = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"];

    public static Command Create(CliContext context)
    {
        var model = CliArguments.InputPath("MODEL", "The model to plan for: an F32/F16/BF16 GGUF, a stored model's name, or a Hugging Face checkpoint folder");
        var store = StoreArguments.StoreOption();
        var types = new Option<string[]>("--type") { Description = "Presets to size (repeatable; default: the k-quant and legacy presets)", AllowMultipleArgumentsPerToken = true };
        var contextSize = new Option<int>("--ctx", "-c") { Description = "Tokens of context, over all sequences (default 4096)", DefaultValueFactory = _ => 4096 };
        var keys = new Option<string>("--cache-type-k", "-ctk") { Description = "KV cache type for K: f16 (default), q8_0 or q4_0", DefaultValueFactory = _ => "f16" };
        var values = new Option<string>("--cache-type-v", "-ctv") { Description = "KV cache type for V: f16 (default), q8_0 or q4_0", DefaultValueFactory = _ => "f16" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "Sequences served at once (default 1)", DefaultValueFactory = _ => 1 };
        var budget = new Option<string>("--budget") { Description = "Memory available, e.g. 8G (K/M/G/T: powers of 1024; KB/MB/GB/TB: of 1000)", HelpName = "SIZE" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        foreach (var option in new[] { keys, values })
        {
            option.AcceptOnlyFromAmong("f16", "q8_0", "q4_0");
        }
        var command = new Command("plan", "Size each quantization preset's file, KV cache and compute buffers, without quantizing")
        {
            model, types, contextSize, keys, values, parallel, budget, json, store,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetResult(contextSize) is not null && result.GetValue(contextSize) < 1) || (result.GetResult(parallel) is not null && result.GetValue(parallel) < 1))
            {
                result.AddError("--ctx and --parallel must be at least 1");
            }
            if (result.GetValue(budget) is { } text && ParseSize(text) is null)
            {
                result.AddError($"--budget takes a size such as 8G, 500M or 8000000000; not '{text}'");
            }
            foreach (var type in result.GetValue(types) ?? [])
            {
                if (!QuantizationPresets.TryParse(type, out _))
                {
                    result.AddError($"unknown preset '{type}' (see 'quanta types')");
                }
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new MemoryPlanOptions
            {
                Context = parseResult.GetValue(contextSize),
                Parallel = parseResult.GetValue(parallel),
                KeyType = CacheType(parseResult.GetValue(keys)),
                ValueType = CacheType(parseResult.GetValue(values)),
                Budget = parseResult.GetValue(budget) is { } b ? ParseSize(b) : null,
            };
            var presets = (parseResult.GetValue(types) is { Length: > 0 } given ? given : DefaultPresets).Select(QuantizationPresets.Parse).ToArray();
            var path = parseResult.GetRequiredValue(model);
            IReadOnlyList<PresetMemory> lines;
            var estimated = false;
            try
            {
                if (File.Exists(path) && path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    // A bare config.json: the tensors the converter would write, the metadata estimated.
                    estimated = true;
                    lines = MemoryPlan.For(ConfigOnlyModel.Load(path), presets, options);
                }
                else if (ModelInput.IsCheckpoint(path))
                {
                    // The file 'quanta convert DIR --type PRESET' writes: the converter's tensors and metadata, planned as quantize plans them.
                    using var checkpoint = ModelInput.OpenCheckpoint(path);
                    lines = MemoryPlan.For(ModelInput.CheckpointSource(checkpoint), presets, options);
                }
                else
                {
                    using var file = GgufFile.Open(ModelInput.GgufPath(path, () => StoreArguments.Open(parseResult, store)));
                    lines = MemoryPlan.For(file, presets, options);
                }
            }
            catch (QuantizationException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            context.Out.Write(parseResult.GetValue(json) ? Json(options, lines, estimated) : Table(path, options, lines, estimated));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static GgmlType CacheType(string? name) => name switch
    {
        "q8_0" => GgmlType.Q8_0,
        "q4_0" => GgmlType.Q4_0,
        _ => GgmlType.F16,
    };

    /// <summary>A byte count: a number with an optional K/M/G/T (1024-based, also KiB…) or KB/MB/GB/TB (1000-based) suffix.</summary>
    internal static long? ParseSize(string text)
    {
        var t = text.Trim();
        var digits = 0;
        while (digits < t.Length && (char.IsAsciiDigit(t[digits]) || t[digits] == '.'))
        {
            digits++;
        }
        if (!double.TryParse(t.AsSpan(0, digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }
        double? scale = t[digits..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "T" or "TIB" => 1L << 40,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            _ => null,
        };
        return scale is { } s ? (long)(number * s) : null;
    }

    static string Table(string path, MemoryPlanOptions options, IReadOnlyList<PresetMemory> lines, bool estimated)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"{Path.GetFileName(path)}: context {options.Context}, {options.Parallel} sequence(s), K cache {GgmlTypeInfo.Of(options.KeyType).Name}, V cache {GgmlTypeInfo.Of(options.ValueType).Name}");
        text.Append(options.Budget is { } b ? string.Create(c, $", budget {Mib(b)}\n\n") : "\n\n");
        text.Append("| type | file size | KV cache | compute | total |").Append(options.Budget is null ? "\n" : " fits |\n");
        text.Append("| --- | ---: | ---: | ---: | ---: |").Append(options.Budget is null ? "\n" : " :---: |\n");
        foreach (var l in lines)
        {
            text.Append(c, $"| {l.Type} | {l.FileSize} ({Mib(l.FileSize)}) | {Mib(l.KvCache)} | {Mib(l.Compute)} | {Mib(l.Total)} |");
            text.Append(l.Fits is { } fits ? (fits ? " yes |\n" : " no |\n") : "\n");
        }
        text.Append(estimated
            ? "\nfile size: estimated from config.json (the tensors' bytes as the converter lays them out, the metadata's size guessed; no vision tower)"
            : "\nfile size: exact (what quantize writes)");
        text.Append("; compute: an estimate of the engine's buffers for one micro-batch of 512 tokens.\n");
        return text.ToString();
    }

    static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F2} MiB");

    static string Json(MemoryPlanOptions options, IReadOnlyList<PresetMemory> lines, bool estimated)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("ctx", options.Context);
            if (estimated)
            {
                // From a bare config.json the file sizes are estimates (the metadata's size is guessed).
                writer.WriteBoolean("file_size_estimated", true);
            }
            writer.WriteStartArray("presets");
            foreach (var l in lines)
            {
                writer.WriteStartObject();
                writer.WriteString("type", l.Type);
                writer.WriteNumber("file_size", l.FileSize);
                writer.WriteNumber("kv_cache", l.KvCache);
                writer.WriteNumber("compute", l.Compute);
                writer.WriteNumber("total", l.Total);
                if (l.Fits is { } fits)
                {
                    writer.WriteBoolean("fits", fits);
                }
                else
                {
                    writer.WriteNull("fits");
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
