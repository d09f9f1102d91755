using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;

namespace Quanta.Quantization;

/// <summary>One output file of a job: its path, its metadata and the plan entries it holds (a contiguous run).</summary>
public sealed record QuantizationOutputFile(string Path, GgufMetadata Metadata, int FirstEntry, int EntryCount);

/// <summary>
/// Everything decided before a byte is written: the plan, which input tensor feeds each entry, the output
/// metadata, and how the output is cut into files. <see cref="Quantizer"/> executes it; a dry run prints its
/// plan. Creating a job checks what llama-quantize checks up front (an importance matrix where one is needed,
/// requantizing, the output not being the input) plus what Quanta cannot do yet (a missing codec).
/// </summary>
public sealed class QuantizationJob
{
    readonly ISourceTensor[] _sources;

    QuantizationJob(ITensorSource input, QuantizationPlan plan, ISourceTensor[] sources, GgufMetadata metadata, IReadOnlyList<QuantizationOutputFile> files, QuantizerOptions run,
        ShardPlan? shardPlan = null)
    {
        ShardPlan = shardPlan;
        Input = input;
        Plan = plan;
        _sources = sources;
        Metadata = metadata;
        Files = files;
        RunOptions = run;
        RequantizedTensors = plan.Entries.Count(e => !e.IsCopied && GgmlTypeInfo.Of(e.SourceType).IsQuantized);
    }

    /// <summary>The model read: a GGUF file, or a checkpoint seen through a conversion.</summary>
    public ITensorSource Input { get; }

    public QuantizationPlan Plan { get; }

    /// <summary>The output's metadata (the first file's, without split keys).</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>
    /// The files to write, in order; empty for a dry run. With <see cref="QuantizerOptions.OnlyShard"/>, only
    /// that shard, whose entries start at its <see cref="QuantizationOutputFile.FirstEntry"/>, not at 0.
    /// </summary>
    public IReadOnlyList<QuantizationOutputFile> Files { get; }

    /// <summary>The plan entries <see cref="Files"/> hold: all of them, or one shard's.</summary>
    public IEnumerable<QuantizationPlanEntry> WrittenEntries => Files.SelectMany(f => Plan.Entries.Skip(f.FirstEntry).Take(f.EntryCount));

    /// <summary>How <see cref="QuantizerOptions.Shards"/> cuts the plan; null without it.</summary>
    public ShardPlan? ShardPlan { get; }

    public QuantizerOptions RunOptions { get; }

    /// <summary>Tensors that will be decoded from a quantized type and encoded again (needs <see cref="QuantizerOptions.AllowRequantize"/>).</summary>
    public int RequantizedTensors { get; }

    /// <summary>The input tensor whose bytes feed plan entry <paramref name="index"/> (pruning renames tensors).</summary>
    public ISourceTensor SourceOf(int index) => _sources[index];

    /// <summary>
    /// The importance-matrix weights plan entry <paramref name="index"/> is encoded with (one per column, per
    /// matrix for a 3-D tensor), or null: no matrix, a tensor written as it is, or one the matrix has no entry
    /// for. The entry is looked up by the input tensor's name, so a layer renumbered by pruning still finds the
    /// statistics of the layer it was (llama.cpp's <c>remap_imatrix</c>).
    /// </summary>
    public float[]? ImportanceOf(int index) =>
        FoundImportance(index) is { } weights && weights.Length == ImportanceLength(Plan.Entries[index]) ? weights : null;

    float[]? FoundImportance(int index) =>
        Plan.Options.Importance is { } importance && !Plan.Entries[index].IsCopied ? importance.Find(_sources[index].Info.Name) : null;

    /// <summary>One weight per column, for each matrix of a 3-D tensor (llama.cpp's <c>ne[0] · ne[2]</c>).</summary>
    static long ImportanceLength(QuantizationPlanEntry entry) =>
        entry.Tensor.Shape[0] * (entry.Tensor.Shape.Count > 2 ? entry.Tensor.Shape[2] : 1);

    /// <summary>Tensors to be quantized that the importance matrix has no entry for (llama.cpp: "did not find weights for ...").</summary>
    public IReadOnlyList<string> TensorsWithoutImportance => Plan.Options.Importance is { Count: > 0 }
        ? [.. Plan.Entries.Select((e, i) => (e, i)).Where(x => !x.e.IsCopied && ImportanceOf(x.i) is null).Select(x => x.e.Name)]
        : [];

    /// <summary>
    /// Plans <paramref name="input"/> and lays out the output at <paramref name="outputPath"/> (null for a dry
    /// run: nothing is laid out and only the plan is checked).
    /// </summary>
    /// <exception cref="QuantizationException">The model and options cannot be quantized; the message says why.</exception>
    public static QuantizationJob Create(
        ITensorSource input,
        QuantizationPreset preset,
        string? outputPath,
        QuantizationOptions? options = null,
        QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(preset);
        options ??= QuantizationOptions.Default;
        run ??= QuantizerOptions.Default;
        CheckRunOptions(options, run);

        var metadata = OutputMetadata(input, preset, run);
        if (options.Importance is { Count: > 0 } importance)
        {
            // llama-quantize appends these after the --override-kv switches.
            foreach (var (key, value) in importance.MetadataKeys())
            {
                metadata.Set(key, value);
            }
        }
        var model = ModelHyperparameters.FromMetadata(metadata);

        // llama.cpp renames while walking its name-sorted tensor map, then (for --keep-split) re-sorts by file
        // position; the block count it writes is the renamer's.
        var sorted = TensorOrder.Sort(input.Tensors, t => t.Info.Name);
        var names = sorted.Select(t => t.Info.Name).ToArray();
        if (run.PruneLayers is { } pruning)
        {
            var (newNames, blockCount) = pruning.Rename(names);
            names = newNames!;
            metadata.Set($"{model.Architecture}.block_count", GgufValue.UInt32((uint)blockCount));
        }
        var renamed = new List<(ISourceTensor Source, GgufTensorInfo Info)>();
        for (var i = 0; i < sorted.Count; i++)
        {
            var (tensor, name) = (sorted[i], names[i]);
            if (name is not null)
            {
                renamed.Add((tensor, name == tensor.Info.Name ? tensor.Info : new GgufTensorInfo(name, tensor.Info.Shape, tensor.Info.Type)));
            }
        }
        if (options.KeepSplit)
        {
            renamed = [.. renamed.OrderBy(t => t.Source.ShardIndex).ThenBy(t => t.Source.FileOffset)];
        }

        var plan = QuantizationPlan.Create(renamed.Select(t => t.Info), model, preset, options);
        var byName = renamed.ToDictionary(t => t.Info.Name, t => t.Source, StringComparer.Ordinal);
        var sources = plan.Entries.Select(e => byName[e.Name]).ToArray();

        var shardPlan = run.Shards is { } shardCount ? ShardPlan.Create(plan, shardCount) : null;
        var files = outputPath is null ? [] : LayOutFiles(input, plan, sources, metadata, outputPath, options, run, shardPlan);
        var job = new QuantizationJob(input, plan, sources, metadata, files, run, shardPlan);
        if (outputPath is not null)
        {
            job.CheckExecutable();
        }
        return job;
    }

    /// <summary>
    /// A job for a plan decided by the caller, writing <paramref name="metadata"/> as given: the tensors of
    /// <paramref name="input"/> are matched to the plan's entries by name and written in the plan's order.
    /// </summary>
    /// <exception cref="QuantizationException">A planned tensor is missing from the input, or cannot be written.</exception>
    public static QuantizationJob Create(
        ITensorSource input,
        QuantizationPlan plan,
        GgufMetadata metadata,
        string? outputPath,
        QuantizerOptions? run = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(metadata);
        run ??= QuantizerOptions.Default;
        CheckRunOptions(plan.Options, run);
        var byName = input.Tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
        var sources = plan.Entries
            .Select(e => byName.TryGetValue(e.Name, out var t) ? t : throw new QuantizationException($"tensor '{e.Name}' is planned but the input has none by that name"))
            .ToArray();
        var shardPlan = run.Shards is { } shardCount ? ShardPlan.Create(plan, shardCount) : null;
        var files = outputPath is null ? [] : LayOutFiles(input, plan, sources, metadata, outputPath, plan.Options, run, shardPlan);
        var job = new QuantizationJob(input, plan, sources, new GgufMetadata(metadata), files, run, shardPlan);
        if (outputPath is not null)
        {
            job.CheckExecutable();
        }
        return job;
    }

    /// <summary>
    /// A job whose output files the caller lays out, for outputs that are not one model cut into shards (a text
    /// model and its projector repackaged from one file): file i holds the next <c>files[i].EntryCount</c>
    /// entries of <paramref name="plan"/>, in order, and entry j reads <paramref name="sources"/>[j], whatever
    /// its name in the input.
    /// </summary>
    /// <exception cref="QuantizationException">A planned tensor cannot be written.</exception>
    internal static QuantizationJob Create(
        ITensorSource input,
        QuantizationPlan plan,
        IReadOnlyList<ISourceTensor> sources,
        IReadOnlyList<QuantizationOutputFile> files,
        QuantizerOptions run)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(run);
        if (sources.Count != plan.Entries.Count)
        {
            throw new ArgumentException($"{sources.Count} sources for {plan.Entries.Count} planned tensors", nameof(sources));
        }
        var next = 0;
        foreach (var file in files)
        {
            if (file.FirstEntry != next || file.EntryCount < 0)
            {
                throw new ArgumentException($"'{file.Path}' does not start where the file before it ends (entry {next})", nameof(files));
            }
            next += file.EntryCount;
        }
        if (next != plan.Entries.Count)
        {
            throw new ArgumentException($"the files hold {next} of the {plan.Entries.Count} planned tensors", nameof(files));
        }
        var metadata = files.Count == 0 ? new GgufMetadata() : new GgufMetadata(files[0].Metadata);
        var job = new QuantizationJob(input, plan, [.. sources], metadata, files, run);
        job.CheckExecutable();
        return job;
    }

    /// <summary>
    /// What llama-quantize writes as metadata (<c>llama_model_quantize_impl</c>): the input's keys in order;
    /// <c>general.quantization_version</c> and <c>general.file_type</c> set (moved to the end, like
    /// <c>gguf_set_val_u32</c>); the split keys removed; then each override set in order.
    /// </summary>
    static GgufMetadata OutputMetadata(ITensorSource input, QuantizationPreset preset, QuantizerOptions run)
    {
        var metadata = new GgufMetadata(input.Metadata);
        metadata.Set(GgufKeys.QuantizationVersion, GgufValue.UInt32(QuantizationVersion));
        var fileType = preset.IsCopy ? InputFileType(input) : (uint)preset.FileTypeNumber;
        metadata.Set(GgufKeys.FileType, GgufValue.UInt32(fileType));
        GgufSplit.RemoveSplitKeys(metadata);
        foreach (var o in run.MetadataOverrides)
        {
            metadata.Set(o.Key, o.Value);
        }
        return metadata;
    }

    /// <summary>ggml's GGML_QNT_VERSION: the block layouts Quanta writes are version 2.</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>
    /// COPY keeps the input's file type (llama.cpp's <c>ml.ftype</c>): <c>general.file_type</c> when present,
    /// otherwise the loader's guess from the most common tensor type, flagged as guessed.
    /// </summary>
    static uint InputFileType(ITensorSource input)
    {
        if (input.Metadata.LenientInteger(GgufKeys.FileType) is { } stored)
        {
            return unchecked((uint)stored);
        }
        var common = input.Tensors.GroupBy(t => t.Info.Type).OrderByDescending(g => g.Count()).Select(g => (GgmlType?)g.Key).FirstOrDefault();
        var guess = common switch
        {
            GgmlType.F16 => LlamaFileType.MostlyF16,
            GgmlType.BF16 => LlamaFileType.MostlyBF16,
            GgmlType.Q4_0 => LlamaFileType.MostlyQ4_0,
            GgmlType.Q4_1 => LlamaFileType.MostlyQ4_1,
            GgmlType.Q5_0 => LlamaFileType.MostlyQ5_0,
            GgmlType.Q5_1 => LlamaFileType.MostlyQ5_1,
            GgmlType.Q8_0 => LlamaFileType.MostlyQ8_0,
            GgmlType.Q2_K => LlamaFileType.MostlyQ2_K,
            GgmlType.Q3_K => LlamaFileType.MostlyQ3_K_M,
            GgmlType.Q4_K => LlamaFileType.MostlyQ4_K_M,
            GgmlType.Q5_K => LlamaFileType.MostlyQ5_K_M,
            GgmlType.Q6_K => LlamaFileType.MostlyQ6_K,
            GgmlType.IQ2_XXS => LlamaFileType.MostlyIQ2_XXS,
            GgmlType.IQ2_XS => LlamaFileType.MostlyIQ2_XS,
            GgmlType.IQ2_S => LlamaFileType.MostlyIQ2_S,
            GgmlType.IQ3_XXS => LlamaFileType.MostlyIQ3_XXS,
            GgmlType.IQ1_S => LlamaFileType.MostlyIQ1_S,
            GgmlType.IQ1_M => LlamaFileType.MostlyIQ1_M,
            GgmlType.IQ4_NL => LlamaFileType.MostlyIQ4_NL,
            GgmlType.IQ4_XS => LlamaFileType.MostlyIQ4_XS,
            GgmlType.IQ3_S => LlamaFileType.MostlyIQ3_S,
            GgmlType.TQ1_0 => LlamaFileType.MostlyTQ1_0,
            GgmlType.TQ2_0 => LlamaFileType.MostlyTQ2_0,
            GgmlType.MXFP4 => LlamaFileType.MostlyMXFP4_MoE,
            _ => LlamaFileType.AllF32,
        };
        return (uint)guess | LlamaFileTypes.GuessedFlag;
    }

    static void CheckRunOptions(QuantizationOptions options, QuantizerOptions run)
    {
        if (run.Shards is not null && (options.KeepSplit || run.SplitMaxBytes is not null || run.SplitMaxTensors is not null))
        {
            throw new QuantizationException("--shards cuts the output by encoding cost; it cannot be combined with --keep-split, --split-max-size or --split-max-tensors");
        }
        if (run.Shards is < 1)
        {
            throw new QuantizationException($"--shards must be at least 1, not {run.Shards}");
        }
        if (run.OnlyShard is { } only && (run.Shards is not { } n || only < 1 || only > n))
        {
            throw new QuantizationException(run.Shards is null
                ? "a single shard was asked for without the number of shards (--shard I/N)"
                : $"shard {only} of {run.Shards} does not exist: shards are numbered 1 to {run.Shards}");
        }
        if (run.SplitMaxBytes is not null && run.SplitMaxTensors is not null)
        {
            throw new QuantizationException("give a maximum size or a maximum number of tensors per shard, not both");
        }
        if (options.KeepSplit && (run.SplitMaxBytes is not null || run.SplitMaxTensors is not null))
        {
            throw new QuantizationException("--keep-split keeps the input's shards; it cannot be combined with --split-max-size or --split-max-tensors");
        }
        if (run.SplitMaxBytes is <= 0 || run.SplitMaxTensors is <= 0)
        {
            throw new QuantizationException("the maximum shard size and tensor count must be positive");
        }
        if (run.ChunkElements < QuantizerOptions.MinChunkElements)
        {
            throw new QuantizationException($"chunks must hold at least {QuantizerOptions.MinChunkElements} elements");
        }
    }

    static List<QuantizationOutputFile> LayOutFiles(
        ITensorSource input, QuantizationPlan plan, ISourceTensor[] sources, GgufMetadata metadata, string outputPath, QuantizationOptions options, QuantizerOptions run,
        ShardPlan? shardPlan)
    {
        var entries = plan.Entries;
        // Runs of consecutive entries that share a file: by input shard for --keep-split, by gguf-split's
        // rules for a size or count limit, otherwise one file.
        List<int> counts;
        bool splitNames;
        bool llamaSplitKeys;
        if (options.KeepSplit)
        {
            counts = [];
            var shardCount = sources.Length == 0 ? 1 : sources.Max(s => s.ShardIndex) + 1;
            for (var shard = 0; shard < shardCount; shard++)
            {
                var n = sources.Count(s => s.ShardIndex == shard);
                if (n == 0)
                {
                    // llama.cpp assumes every shard index has tensors and asserts otherwise.
                    throw new QuantizationException($"--keep-split: shard {shard + 1} of the input would hold no tensors (all pruned)");
                }
                counts.Add(n);
            }
            // llama-quantize --keep-split always uses shard names, even for a single input file.
            splitNames = true;
            llamaSplitKeys = counts.Count > 1;
        }
        else if (shardPlan is not null)
        {
            counts = [.. shardPlan.Shards.Select(s => s.EntryCount)];
            // A set of one is still a set: every task of a batch job names its file the same way.
            splitNames = true;
            llamaSplitKeys = false;
        }
        else if (run.SplitMaxBytes is not null || run.SplitMaxTensors is not null)
        {
            var splitOptions = new GgufSplitOptions { MaxBytesPerShard = run.SplitMaxBytes, MaxTensorsPerShard = run.SplitMaxTensors };
            counts = [.. GgufSplit.Plan(entries, e => e.TargetBytes, splitOptions).Select(s => s.Count)];
            splitNames = true;
            llamaSplitKeys = false;
        }
        else
        {
            counts = [entries.Count];
            splitNames = false;
            llamaSplitKeys = false;
        }
        if (counts.Count > ushort.MaxValue)
        {
            throw new QuantizationException($"the output would be cut into {counts.Count} shards; at most {ushort.MaxValue} are possible");
        }

        var prefix = GgufSplit.PrefixOf(outputPath);
        var files = new List<QuantizationOutputFile>(counts.Count);
        var first = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            var path = Path.GetFullPath(splitNames ? GgufSplitNames.ShardPath(prefix, i + 1, counts.Count) : outputPath);
            var shardMetadata = i == 0 ? new GgufMetadata(metadata) : new GgufMetadata();
            if (llamaSplitKeys)
            {
                // llama-quantize --keep-split: split.no, split.count, split.tensors.count, in that order.
                shardMetadata.Set(GgufKeys.SplitNumber, GgufValue.UInt16((ushort)i));
                shardMetadata.Set(GgufKeys.SplitCount, GgufValue.UInt16((ushort)counts.Count));
                shardMetadata.Set(GgufKeys.SplitTensorsCount, GgufValue.Int32(entries.Count));
            }
            else if (splitNames && !options.KeepSplit)
            {
                GgufSplit.AddSplitKeys(shardMetadata, i, counts.Count, entries.Count);
            }
            files.Add(new QuantizationOutputFile(path, shardMetadata, first, counts[i]));
            first += counts[i];
        }

        if (run.OnlyShard is { } only)
        {
            files = [files[only - 1]];
        }
        foreach (var file in files)
        {
            foreach (var inputPath in input.FilePaths)
            {
                if (OutputPaths.SameFile(file.Path, inputPath))
                {
                    throw new QuantizationException($"input and output files are the same: '{inputPath}'");
                }
            }
        }
        return files;
    }

    /// <summary>
    /// llama-quantize's importance-matrix checks, made before anything is written: an entry whose size is not the
    /// tensor's row length (times its experts) is an error, except for the token embeddings, which it ignores; a
    /// tensor whose type needs a matrix and has no entry for it is refused with llama.cpp's message.
    /// </summary>
    void CheckImportance()
    {
        var importance = Plan.Options.Importance;
        for (var i = 0; i < Plan.Entries.Count; i++)
        {
            var entry = Plan.Entries[i];
            if (entry.IsCopied)
            {
                continue;
            }
            var found = FoundImportance(i);
            var expected = ImportanceLength(entry);
            if (found is not null && found.Length != expected && _sources[i].Info.Name != "token_embd.weight")
            {
                // llama.cpp aborts here: quantizing most of a model without its matrix by mistake is worse.
                throw new QuantizationException($"imatrix size {found.Length} is different from tensor size {expected} for {entry.Name}");
            }
            if (entry.RequiresImportanceMatrix && ImportanceOf(i) is null)
            {
                throw new QuantizationException(
                    $"Missing importance matrix for tensor {entry.Name} in a very low-bit quantization ({GgmlTypeInfo.Of(entry.TargetType).Name}); " +
                    (importance is null
                        ? "compute one with 'quanta imatrix' and pass it with --imatrix"
                        : $"{importance.File} has no entry for it"));
            }
        }
    }

    /// <summary>The checks that only matter when bytes are to be written (a dry run shows the plan regardless).</summary>
    void CheckExecutable()
    {
        CheckImportance();
        foreach (var entry in Plan.Entries)
        {
            if (entry.IsCopied)
            {
                continue;
            }
            var source = GgmlTypeInfo.Of(entry.SourceType);
            if (source.IsQuantized)
            {
                if (!RunOptions.AllowRequantize)
                {
                    throw new QuantizationException(
                        $"tensor '{entry.Name}' is already quantized ({source.Name}); requantizing from type {source.Name} is disabled (use --allow-requantize)");
                }
                if (!BlockCodecs.TryGet(entry.SourceType, out _))
                {
                    throw new QuantizationException($"tensor '{entry.Name}': Quanta cannot decode {source.Name} yet, so it cannot be requantized");
                }
            }
            else if (entry.SourceType is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            {
                throw new QuantizationException($"tensor '{entry.Name}': cannot convert tensor type {source.Name} to {GgmlTypeInfo.Of(entry.TargetType).Name}");
            }
        }
        var missing = Plan.Entries
            .Where(e => !e.IsCopied && !(BlockCodecs.TryGet(e.TargetType, out var codec) && codec.CanEncode))
            .GroupBy(e => e.TargetType)
            .FirstOrDefault();
        if (missing is not null)
        {
            var name = GgmlTypeInfo.Of(missing.Key).Name;
            var count = missing.Count();
            throw new QuantizationException(
                $"Quanta cannot write {name} yet (needed for '{missing.First().Name}'" + (count > 1 ? $" and {count - 1} more tensors" : "") + ")");
        }
    }
}
