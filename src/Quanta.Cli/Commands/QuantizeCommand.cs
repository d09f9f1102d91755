using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta quantize IN.gguf [OUT.gguf] TYPE [NTHREADS]</c>: llama-quantize's command line (its positional
/// arguments and switch spellings), writing the same file llama-quantize writes. Given model names instead
/// (<c>quanta quantize llama3.1:8b my-llama:q5 Q5_K_M</c>, SRC not an existing file), it quantizes within the
/// store: a new model whose model layer is quantized and whose other layers are the source's.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create(CliContext context)
    {
        var positional = new Argument<string[]>("args")
        {
            Description = "IN.gguf [OUT.gguf] TYPE [NTHREADS]: the model, the output (default <in dir>/ggml-model-TYPE.gguf), " +
                "the type (Q4_K_M, q8_0, 15 ...; see 'quanta types') and the thread count",
            Arity = new ArgumentArity(2, 4),
        };
        positional.Validators.Add(RejectOptionLikeTokens);
        var o = new Switches();
        var store = StoreArguments.StoreOption();
        store.Description = "With model names: the model store (default $QUANTA_MODELS, else ~/.quanta/models)";
        var command = new Command("quantize", "Quantize a GGUF model as llama-quantize does, byte for byte")
        {
            positional, o.Pure, o.OutputTensorType, o.TokenEmbeddingType, o.TensorType, o.TensorTypeFile,
            o.LeaveOutputTensor, o.AllowRequantize, o.OverrideKv, o.KeepSplit, o.SplitMaxSize, o.SplitMaxTensors, o.Shards, o.Shard,
            o.PruneLayers, o.VisionType, o.ProjectorType, o.Threads, o.DryRun, o.Imatrix, o.IncludeWeights, o.ExcludeWeights, store,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var args = parseResult.GetRequiredValue(positional);
            if (IsStoreForm(args))
            {
                RunInStore(context, parseResult, args, o, StoreArguments.Open(parseResult, store), cancellationToken);
                return Task.FromResult(ExitCodes.Success);
            }
            var request = ReadRequest(parseResult, parseResult.GetRequiredValue(positional), o);
            Run(context, request, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The switches, with llama-quantize's spellings.</summary>
    internal sealed class Switches
    {
        public readonly Option<bool> Pure = new("--pure") { Description = "Disable the k-quant mixtures: every quantized tensor gets the type's default" };
        public readonly Option<string> OutputTensorType = new("--output-tensor-type") { Description = "ggml type for output.weight (e.g. q8_0)", HelpName = "type" };
        public readonly Option<string> TokenEmbeddingType = new("--token-embedding-type") { Description = "ggml type for the token embeddings", HelpName = "type" };
        public readonly Option<string[]> TensorType = new("--tensor-type") { Description = "Quantize tensors matching REGEX to a ggml type, e.g. attn_v=q6_k (repeatable)", HelpName = "REGEX=type" };
        public readonly Option<string[]> TensorTypeFile = new("--tensor-type-file") { Description = "File of REGEX=type entries separated by spaces or newlines", HelpName = "file" };
        public readonly Option<bool> LeaveOutputTensor = new("--leave-output-tensor") { Description = "Leave output.weight un(re)quantized" };
        public readonly Option<bool> AllowRequantize = new("--allow-requantize") { Description = "Allow requantizing tensors that are already quantized (worse than quantizing from F16/F32)" };
        public readonly Option<string[]> OverrideKv = new("--override-kv") { Description = "Set a metadata key in the output: KEY=int:N, float:X, bool:true|false or str:TEXT (repeatable)", HelpName = "KEY=TYPE:VALUE" };
        public readonly Option<bool> KeepSplit = new("--keep-split") { Description = "Write the output in the same shards as the input" };
        public readonly Option<string> SplitMaxSize = new("--split-max-size") { Description = "Write a split set with at most this many tensor bytes per shard (e.g. 4G, 500M)", HelpName = "N(M|G)" };
        public readonly Option<int?> SplitMaxTensors = new("--split-max-tensors") { Description = "Write a split set with at most N tensors per shard", HelpName = "N" };
        public readonly Option<int?> Shards = new("--shards")
        {
            Description = "Write the output as N shards OUT-0000I-of-0000N.gguf (a gguf-split set), balanced by encoding cost",
            HelpName = "N",
        };
        public readonly Option<string> Shard = new("--shard")
        {
            Description = "Write only shard I of the --shards N set (I from 1 to N), reading only its tensors: one task of a batch job (Kubernetes Indexed Job, Slurm array)",
            HelpName = "I/N",
        };
        public readonly Option<string> PruneLayers = new("--prune-layers") { Description = "Drop these blocks and renumber the rest, e.g. 20,21,22", HelpName = "L0,L1,..." };
        public readonly Option<string> VisionType = new("--vision-type")
        {
            Description = "Multimodal models: ggml type for the vision tower's weights (v.* tensors), e.g. q8_0 or f16. "
                + "Without it they are kept as they are in a single-file model (gemma3 ...) and follow TYPE in a projector (clip/mmproj) file",
            HelpName = "type",
        };
        public readonly Option<string> ProjectorType = new("--projector-type")
        {
            Description = "Multimodal models: ggml type for the projector's weights (mm.* tensors), e.g. f16; defaults as for --vision-type",
            HelpName = "type",
        };
        public readonly Option<int?> Threads = new("--threads", "-t") { Description = "Threads (default: all processors)", HelpName = "N" };
        public readonly Option<bool> DryRun = new("--dry-run") { Description = "Print the plan (each tensor's type and why) and the output size; write nothing" };
        public readonly Option<string> Imatrix = new("--imatrix") { Description = "Importance matrix for the quantization (GGUF imatrix or legacy .dat, from 'quanta imatrix' or llama-imatrix)", HelpName = "file" };
        public readonly Option<string[]> IncludeWeights = new("--include-weights") { Description = "Use the importance matrix only for tensors whose name contains this (repeatable)", HelpName = "name" };
        public readonly Option<string[]> ExcludeWeights = new("--exclude-weights") { Description = "Do not use the importance matrix for tensors whose name contains this (repeatable)", HelpName = "name" };
    }

    /// <summary>Everything the command line asked for, checked and parsed.</summary>
    internal sealed record Request(
        string Input,
        string? Output,
        QuantizationPreset Preset,
        QuantizationOptions Options,
        QuantizerOptions Run,
        bool DryRun,
        string? PlannedOutput = null);

    /// <summary>
    /// SRC DST TYPE where SRC is no file or directory but a valid model name, and DST one too: the store form.
    /// A file path always wins, so existing scripts keep their meaning.
    /// </summary>
    static bool IsStoreForm(string[] args) =>
        args.Length >= 3
        && !File.Exists(args[0]) && !Directory.Exists(args[0])
        && !args[0].EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
        && !args[1].EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
        && Quanta.Store.ModelName.TryParse(args[0], out _)
        && Quanta.Store.ModelName.TryParse(args[1], out _)
        && QuantizationPresets.TryParse(args[2], out _);

    static void RunInStore(CliContext context, ParseResult parseResult, string[] args, Switches o, Quanta.Store.ModelStore store, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(o.DryRun))
        {
            throw new UserErrorException("--dry-run works on GGUF files; run it on the model's file ('quanta show NAME --modelfile' prints its path)");
        }
        var source = StoreArguments.Name(args[0]);
        var destination = StoreArguments.Name(args[1]);
        if (store.TryGetManifest(source) is null)
        {
            throw new UserErrorException($"{args[0]}: no such file, and model '{source.DisplayShortest}' not found in {store.Root}");
        }
        var options = CreateCommand.ReadOptions(parseResult, o, args[2], null, context);
        var request = ReadRequest(parseResult, args, o);
        options = options with { Run = request.Run };
        var modelfile = Quanta.Store.Modelfile.Parse("FROM " + args[0] + "\n");
        CreateCommand.Run(context, store, destination, modelfile, Directory.GetCurrentDirectory(), options, cancellationToken);
    }

    static void RejectOptionLikeTokens(ArgumentResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (token.Value.Length > 1 && token.Value[0] == '-' && !int.TryParse(token.Value, CultureInfo.InvariantCulture, out _))
            {
                result.AddError($"Unrecognized option '{token.Value}'.");
            }
        }
    }

    internal static Request ReadRequest(ParseResult parseResult, string[] args, Switches o)
    {
        var input = args[0];
        var keepSplit = parseResult.GetValue(o.KeepSplit);
        var dryRun = parseResult.GetValue(o.DryRun);

        // llama-quantize's rule: if the second argument names a type, there is no output path.
        string? output;
        string typeText;
        int next;
        if (QuantizationPresets.TryParse(args[1], out _))
        {
            typeText = args[1];
            output = DefaultOutput(input, typeText, keepSplit);
            next = 2;
        }
        else
        {
            if (args.Length < 3)
            {
                throw new UserErrorException($"unknown quantization type '{args[1]}' (or, if it is the output file, the type is missing); run 'quanta types' for the list");
            }
            output = args[1];
            typeText = args[2];
            next = 3;
        }
        if (!QuantizationPresets.TryParse(typeText, out var preset))
        {
            throw new UserErrorException($"unknown quantization type '{typeText}'; run 'quanta types' for the list");
        }

        int? threads = parseResult.GetValue(o.Threads);
        if (next < args.Length)
        {
            if (!int.TryParse(args[next], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            {
                throw new UserErrorException($"invalid thread count '{args[next]}'");
            }
            if (threads is not null && threads != n)
            {
                throw new UserErrorException($"two thread counts given: --threads {threads} and {n}");
            }
            threads = n;
            next++;
        }
        if (next < args.Length)
        {
            throw new UserErrorException($"unexpected argument '{args[next]}'");
        }
        if (threads is < 0)
        {
            throw new UserErrorException($"invalid thread count {threads}");
        }

        var (options, run) = ReadSwitches(parseResult, o, threads ?? 0, keepSplit);
        return new Request(input, dryRun ? null : output, preset, options, run, dryRun, output);
    }

    /// <summary>
    /// The switches that shape a quantization, shared by <c>quantize</c> and <c>convert</c> (which registers
    /// the same <see cref="Switches"/> objects, so spellings, help and parsing cannot drift apart).
    /// </summary>
    internal static (QuantizationOptions Options, QuantizerOptions Run) ReadSwitches(ParseResult parseResult, Switches o, int threads, bool keepSplit)
    {
        var recipeKeys = new List<MetadataOverride>();
        var options = new QuantizationOptions
        {
            Pure = parseResult.GetValue(o.Pure),
            OutputTensorType = ParseType(parseResult.GetValue(o.OutputTensorType), "--output-tensor-type"),
            TokenEmbeddingType = ParseType(parseResult.GetValue(o.TokenEmbeddingType), "--token-embedding-type"),
            TensorTypeOverrides = ReadTensorTypes(parseResult, o, recipeKeys),
            LeaveOutputTensor = parseResult.GetValue(o.LeaveOutputTensor),
            KeepSplit = keepSplit,
            VisionType = ParseType(parseResult.GetValue(o.VisionType), "--vision-type"),
            ProjectorType = ParseType(parseResult.GetValue(o.ProjectorType), "--projector-type"),
            Importance = ReadImportance(parseResult, o),
        };
        var (shards, onlyShard) = ReadShards(parseResult, o);
        var run = new QuantizerOptions
        {
            Shards = shards,
            OnlyShard = onlyShard,
            Threads = threads,
            AllowRequantize = parseResult.GetValue(o.AllowRequantize),
            // A recipe's keys go after the user's, where 'quanta optimize' wrote them.
            MetadataOverrides = [.. (parseResult.GetValue(o.OverrideKv) ?? []).Select(ParseOverride), .. recipeKeys],
            PruneLayers = parseResult.GetValue(o.PruneLayers) is { } prune ? ParsePrune(prune) : null,
            SplitMaxBytes = parseResult.GetValue(o.SplitMaxSize) is { } size ? ParseSize(size) : null,
            SplitMaxTensors = parseResult.GetValue(o.SplitMaxTensors) is { } count
                ? count > 0 ? count : throw new UserErrorException($"--split-max-tensors must be positive, not {count}")
                : null,
        };
        return (options, run);
    }

    /// <summary>
    /// <c>--shards N</c> and <c>--shard I/N</c>: the number of shards, and the one to write (1-based) or null for all.
    /// Both may be given when they agree, so a job template can carry <c>--shards N</c> and add <c>--shard</c>.
    /// </summary>
    static (int? Shards, int? OnlyShard) ReadShards(ParseResult parseResult, Switches o)
    {
        var shards = parseResult.GetValue(o.Shards);
        if (shards is < 1)
        {
            throw new UserErrorException($"--shards must be at least 1, not {shards}");
        }
        if (parseResult.GetValue(o.Shard) is not { } text)
        {
            return (shards, null);
        }
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count < 1 || index < 1 || index > count)
        {
            throw new UserErrorException($"--shard: invalid shard '{text}'; expected I/N with 1 <= I <= N, e.g. 2/8");
        }
        if (shards is { } n && n != count)
        {
            throw new UserErrorException($"--shard {text} is one of {count} shards, but --shards says {n}");
        }
        return (count, index);
    }

    /// <summary>--imatrix with --include-weights / --exclude-weights, as llama-quantize's prepare_imatrix applies them.</summary>
    static ImportanceWeights? ReadImportance(ParseResult parseResult, Switches o)
    {
        var included = parseResult.GetValue(o.IncludeWeights) ?? [];
        var excluded = parseResult.GetValue(o.ExcludeWeights) ?? [];
        if (included.Length > 0 && excluded.Length > 0)
        {
            throw new UserErrorException("--include-weights and --exclude-weights cannot be used together");
        }
        if (parseResult.GetValue(o.Imatrix) is not { } path)
        {
            if (included.Length > 0 || excluded.Length > 0)
            {
                throw new UserErrorException($"{(included.Length > 0 ? "--include-weights" : "--exclude-weights")} needs an importance matrix (--imatrix FILE)");
            }
            return null;
        }
        if (!File.Exists(path))
        {
            throw new UserErrorException(Directory.Exists(path) ? $"--imatrix: {path} is a directory, not a file" : $"--imatrix: {path}: no such file");
        }
        try
        {
            return ImportanceWeights.Load(path).Filter(included, excluded);
        }
        catch (QuantizationException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    /// <summary>
    /// llama-quantize's default: <c>&lt;in dir&gt;/ggml-model-&lt;TYPE&gt;.gguf</c>, TYPE spelled as in its type table
    /// (a number gives the first table entry with that file type, so 15 gives Q4_K, the alias listed first).
    /// With --keep-split the extension is left for the shard names.
    /// </summary>
    internal static string DefaultOutput(string input, string typeText, bool keepSplit)
    {
        var preset = QuantizationPresets.Parse(typeText);
        var trimmed = typeText.Trim();
        var name = int.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
            ? preset.Aliases.FirstOrDefault() ?? preset.Name
            : preset.Aliases.FirstOrDefault(a => a.Equals(trimmed, StringComparison.OrdinalIgnoreCase)) ?? preset.Name;
        var slash = input.LastIndexOfAny(['/', '\\']);
        var directory = slash < 0 ? "" : input[..(slash + 1)];
        return directory + "ggml-model-" + name + (keepSplit ? "" : ".gguf");
    }

    internal static GgmlType? ParseType(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }
        return GgmlTypeInfo.TryParse(text, out var info)
            ? info.Type
            : throw new UserErrorException($"{option}: invalid ggml type '{text}'; valid types: {string.Join(", ", GgmlTypeInfo.Types.Select(t => t.Name))}");
    }

    /// <summary>
    /// --tensor-type and --tensor-type-file entries in command-line order, interleaved as given: the first
    /// pattern that matches a tensor wins, so the order matters. A GGUF file given to --tensor-type-file (one
    /// <c>quanta optimize</c> wrote) gives the rules of its <see cref="MixRecipe"/>, and its recipe keys are added
    /// to <paramref name="recipeKeys"/> so that the output carries them as the original does.
    /// </summary>
    static List<TensorTypeOverride> ReadTensorTypes(ParseResult parseResult, Switches o, List<MetadataOverride> recipeKeys)
    {
        var overrides = new List<TensorTypeOverride>();
        var tokens = parseResult.Tokens;
        for (var i = 0; i < tokens.Count - 1; i++)
        {
            if (tokens[i].Type != TokenType.Option)
            {
                continue;
            }
            var value = tokens[i + 1].Value;
            if (tokens[i].Value == o.TensorType.Name)
            {
                overrides.Add(ParseTensorType(value));
            }
            else if (tokens[i].Value == o.TensorTypeFile.Name && IsGguf(value))
            {
                var recipe = ReadRecipe(value);
                overrides.AddRange(recipe.Rules);
                recipeKeys.AddRange(recipe.MetadataKeys());
            }
            else if (tokens[i].Value == o.TensorTypeFile.Name)
            {
                string text;
                try
                {
                    text = File.ReadAllText(value);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new UserErrorException($"--tensor-type-file: cannot read '{value}': {e.Message}", e);
                }
                foreach (var entry in text.Split((char[])[' ', '\t', '\r', '\n', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries))
                {
                    overrides.Add(ParseTensorType(entry));
                }
            }
        }
        return overrides;
    }

    static bool IsGguf(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static MixRecipe ReadRecipe(string path)
    {
        try
        {
            using var file = GgufFile.Open(path);
            return MixRecipe.Read(file.Metadata)
                ?? throw new UserErrorException($"--tensor-type-file: {path} is a GGUF file without a type assignment ({MixRecipe.TensorTypesKey}); give a text file of REGEX=type entries or a file 'quanta optimize' wrote");
        }
        catch (FormatException e)
        {
            throw new UserErrorException($"--tensor-type-file: {path}: {e.Message}", e);
        }
    }

    static TensorTypeOverride ParseTensorType(string text)
    {
        try
        {
            return TensorTypeOverride.Parse(text);
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException($"--tensor-type: {e.Message.Split(" (Parameter", 2)[0]}", e);
        }
    }

    static MetadataOverride ParseOverride(string text)
    {
        try
        {
            return MetadataOverride.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UserErrorException($"--override-kv: {e.Message}", e);
        }
    }

    static LayerPruning ParsePrune(string text)
    {
        try
        {
            return LayerPruning.Parse(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UserErrorException($"--prune-layers: {e.Message.Split(" (Parameter", 2)[0]}", e);
        }
    }

    /// <summary>gguf-split's sizes: a number with M or G (10^6, 10^9); K and plain bytes are accepted too.</summary>
    internal static long ParseSize(string text)
    {
        var trimmed = text.Trim();
        var scale = trimmed.Length == 0 ? 1L : char.ToUpperInvariant(trimmed[^1]) switch
        {
            'K' => 1_000L,
            'M' => 1_000_000L,
            'G' => 1_000_000_000L,
            _ => 1L,
        };
        var digits = scale == 1 ? trimmed : trimmed[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > long.MaxValue / scale)
        {
            throw new UserErrorException($"--split-max-size: invalid size '{text}'; expected a positive number with M or G, e.g. 4G");
        }
        return n * scale;
    }

    /// <summary>After a dry run's plan: how --shards N cuts it (nothing without --shards).</summary>
    internal static void WriteShardPlan(CliContext context, QuantizationJob job, string output)
    {
        if (job.ShardPlan is { } shards)
        {
            context.Out.WriteLine();
            context.Out.Write(shards.ToTable(job.Plan, GgufSplit.PrefixOf(output)));
            if (job.RunOptions.OnlyShard is { } only)
            {
                context.Out.WriteLine($"this task (--shard {only}/{shards.Count}) writes shard {only} only");
            }
        }
    }

    internal static void Run(CliContext context, Request request, CancellationToken cancellationToken)
    {
        InputFile.Require(request.Input, ".gguf file");
        using var model = GgufFile.Open(request.Input);
        QuantizationJob job;
        try
        {
            job = QuantizationJob.Create(model, request.Preset, request.Output, request.Options, request.Run);
        }
        catch (QuantizationException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        catch (ArgumentException e)
        {
            // Shapes a type cannot hold (an explicit --output-tensor-type whose blocks do not fit the rows, ...).
            throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
        }

        if (request.DryRun)
        {
            context.Out.Write(job.Plan.ToTable());
            WriteShardPlan(context, job, request.PlannedOutput ?? request.Input);
            return;
        }

        if (job.RequantizedTensors > 0)
        {
            context.Error.WriteLine(
                $"warning: requantizing {job.RequantizedTensors} tensor(s) that are already quantized; this can severely reduce quality compared to quantizing from 16-bit or 32-bit weights");
        }
        if (job.Plan.FallbackCount > 0)
        {
            context.Error.WriteLine($"warning: {job.Plan.FallbackCount} of {job.Plan.Entries.Count} tensor(s) required fallback quantization (row length not a multiple of the block size)");
        }
        if (request.Options.Importance is { } importance)
        {
            context.Error.WriteLine(
                $"using the importance matrix {importance.File}: {importance.Count} entries computed on {importance.ChunkCount} chunks" +
                (importance.Datasets.Count > 0 ? $" of '{importance.Datasets[0]}'" : ""));
            if (job.TensorsWithoutImportance is { Count: > 0 } without)
            {
                context.Error.WriteLine($"warning: the importance matrix has no entry for {without.Count} tensor(s) ({string.Join(", ", without.Take(3))}{(without.Count > 3 ? ", ..." : "")}); they are quantized without one");
            }
        }
        context.Error.WriteLine(
            $"quantizing '{request.Input}' to '{string.Join("', '", job.Files.Select(f => f.Path))}' as {request.Preset.Name} using {request.Run.EffectiveThreads} thread(s)");

        QuantizeProgress.RunAndReport(context, job, request.Input, cancellationToken);
    }
}
