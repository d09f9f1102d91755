using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;
using Quanta.Quantization;

namespace Quanta.Evaluation;

/// <summary>What <c>quanta optimize</c> must stay within: the file's length in bytes, or its tensors' bits per weight (as <c>eval</c> counts them).</summary>
public abstract record SizeBudget
{
    /// <summary>At most this many bytes of file, header and metadata included.</summary>
    public sealed record FileBytes(long Bytes) : SizeBudget;

    /// <summary>At most this many bits per weight: tensor bytes × 8 over the weights' count.</summary>
    public sealed record BitsPerWeight(double Bits) : SizeBudget;

    internal bool Holds(long fileLength, long tensorBytes, long elements) => this switch
    {
        FileBytes f => fileLength <= f.Bytes,
        BitsPerWeight b => tensorBytes * 8.0 <= b.Bits * elements,
        _ => false,
    };

    /// <summary>How many bytes of file the budget allows, given how the file's length and its tensor bytes relate.</summary>
    internal long FileBytesAllowed(long fileLength, long tensorBytes, long elements) => this switch
    {
        FileBytes f => f.Bytes,
        BitsPerWeight b => (long)Math.Floor(b.Bits * elements / 8) + (fileLength - tensorBytes),
        _ => 0,
    };
}

/// <summary>The knobs of <see cref="MixOptimizer"/>.</summary>
public sealed record OptimizeOptions
{
    /// <summary>
    /// The types the search chooses among: those ggml's CPU back end runs fast (k-quants, Q8_0, IQ4_XS), none
    /// that needs an importance matrix.
    /// </summary>
    public static IReadOnlyList<GgmlType> DefaultTypes { get; } =
        [GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.IQ4_XS, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0];

    public IReadOnlyList<GgmlType> Types { get; init; } = DefaultTypes;

    /// <summary>Tokens per calibration chunk.</summary>
    public int Context { get; init; } = 512;

    /// <summary>At most this many calibration chunks (0 or less: all the text gives).</summary>
    public int MaxChunks { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>The importance matrix every candidate type and the output are quantized with, or null.</summary>
    public ImportanceWeights? Importance { get; init; }

    /// <summary>Where the base log-probabilities, the candidate models and the one-group models are written (deleted after use).</summary>
    public string? ScratchDirectory { get; init; }
}

/// <summary>One group in one type: its bytes, and the mean KL divergence against the base with only it quantized.</summary>
public sealed record GroupMeasurement(GgmlType Type, long Bytes, double MeanKlDivergence);

/// <summary>What was measured for a group, and the type chosen for it.</summary>
public sealed record GroupChoice(TensorGroup Group, IReadOnlyList<GroupMeasurement> Measurements, GgmlType Chosen)
{
    public GroupMeasurement ChosenMeasurement => Measurements.First(m => m.Type == Chosen);
}

/// <summary>What <see cref="MixOptimizer.Measure"/> found: for each group, its bytes and KL divergence in each candidate type.</summary>
/// <param name="Chunks">Calibration chunks, of <paramref name="Context"/> tokens each.</param>
public sealed record MixSensitivity(IReadOnlyList<TensorGroup> Groups, IReadOnlyList<IReadOnlyList<GroupMeasurement>> Measurements, int Chunks, int Context);

/// <summary>The result of <see cref="MixOptimizer.Write"/>.</summary>
/// <param name="FileSize">The length of the file written (exact: it is the file's).</param>
/// <param name="PredictedKlDivergence">The sum of the chosen groups' measured KL divergences.</param>
/// <param name="Chunks">Calibration chunks, of <see cref="OptimizeOptions.Context"/> tokens each.</param>
public sealed record OptimizeResult(MixRecipe Recipe, IReadOnlyList<GroupChoice> Groups, long FileSize, double BitsPerWeight, double PredictedKlDivergence, int Chunks);

/// <summary>
/// <c>quanta optimize</c>: a per-tensor-group type assignment that minimises the KL divergence against the base at
/// a size budget. The base's log-probabilities over the calibration text are computed once (llama-perplexity's
/// base file, <see cref="QualityEvaluator"/>'s code); the base is quantized whole to each candidate type; then for
/// every group (one block's attention, one block's FFN, the embedding, the output) and type, a model that is the
/// base but for that group in that type (<see cref="MixedModel"/>) is scored against the base — the group's
/// sensitivity. Taking the KL divergence of several groups as the sum of each one's, the assignment is a
/// multiple-choice knapsack (<see cref="MixAllocation"/>), solved exactly; the file is then written by the
/// quantizer from the assignment's <c>--tensor-type</c> rules, which it also records
/// (<see cref="MixRecipe"/>), so <c>quanta quantize BASE OUT PRESET --tensor-type-file OUT.gguf</c> writes the same
/// bytes. Sizes are the quantizer's own (its plan, <see cref="GgufWriter.FileLength"/>).
/// </summary>
public static class MixOptimizer
{
    /// <summary>Measures the sensitivities (<see cref="Measure"/>) and writes the best assignment within <paramref name="budget"/> (<see cref="Write"/>).</summary>
    /// <exception cref="EvaluationInputException">The text or the base cannot be evaluated, or the budget is below the smallest assignment; the message says why.</exception>
    /// <exception cref="QuantizationException">The base cannot be quantized to a candidate type.</exception>
    public static OptimizeResult Run(
        string basePath, ReadOnlyMemory<byte> calibration, SizeBudget budget, string outputPath, OptimizeOptions options,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var sensitivity = Measure(basePath, calibration, options, progress, cancellationToken);
        progress?.Report(new EvaluationProgress("write", outputPath, 0, 0));
        return Write(basePath, sensitivity, budget, outputPath, options, cancellationToken);
    }

    /// <summary>
    /// The mean KL divergence against the base over the calibration text with only one group quantized, for every
    /// group and candidate type: what the allocation predicts from. Costs one evaluation of the text per group and
    /// type, and one quantization of the whole base per type.
    /// </summary>
    /// <exception cref="EvaluationInputException">The text or the base cannot be evaluated; the message says why.</exception>
    /// <exception cref="QuantizationException">The base cannot be quantized to a candidate type.</exception>
    public static MixSensitivity Measure(
        string basePath, ReadOnlyMemory<byte> calibration, OptimizeOptions options,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Types.Count is 0 or > 255)
        {
            throw new ArgumentException("between 1 and 255 candidate types", nameof(options));
        }
        var scratch = Path.Combine(options.ScratchDirectory ?? Path.GetTempPath(), $".quanta-optimize-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            using var baseFile = GgufFile.Open(basePath);
            var evaluation = new EvaluationOptions { Context = options.Context, MaxChunks = options.MaxChunks, Threads = options.Threads };
            var baseLogProbabilities = Path.Combine(scratch, "base.kld");
            int chunks;
            using (var model = QualityEvaluator.Load(baseFile, evaluation))
            {
                var tokens = Perplexity.Tokenize(new Tokenizer(Vocabulary.Load(baseFile)), calibration.Span);
                chunks = Perplexity.ChunkCount(tokens.Length, options.Context, options.MaxChunks);
                if (chunks < 1)
                {
                    throw new EvaluationInputException($"the calibration text is {tokens.Length} tokens, fewer than one chunk of {options.Context}");
                }
                QualityEvaluator.WriteBase(model, tokens, QualityEvaluator.BosOf(baseFile), evaluation, baseLogProbabilities, chunks, basePath, progress, cancellationToken);
            }

            var quantization = new QuantizationOptions { Importance = options.Importance };
            var run = new QuantizerOptions { Threads = options.Threads, Writer = new GgufWriterOptions { FlushToDisk = false, CancellationToken = cancellationToken } };
            var groups = TensorGroup.Of(QuantizationJob.Create(baseFile, PresetFor(options.Types[0]), outputPath: null, quantization).Plan);
            var measurements = groups.Select(_ => new List<GroupMeasurement>()).ToArray();
            foreach (var type in options.Types)
            {
                var typeName = GgmlTypeInfo.Of(type).Name;
                var candidatePath = Path.Combine(scratch, $"all-{typeName}.gguf");
                progress?.Report(new EvaluationProgress("quantize", typeName, 0, 0));
                var job = QuantizationJob.Create(baseFile, PresetFor(type), candidatePath, quantization with { TensorTypeOverrides = [new TensorTypeOverride(".", type)] }, run);
                var bytes = job.Plan.Entries.ToDictionary(e => e.Name, e => e.TargetBytes, StringComparer.Ordinal);
                Quantizer.Run(job, null, cancellationToken);
                using var candidate = GgufFile.Open(candidatePath);
                for (var g = 0; g < groups.Count; g++)
                {
                    var group = groups[g];
                    var members = group.Tensors.ToHashSet(StringComparer.Ordinal);
                    var mixedPath = Path.Combine(scratch, "mixed.gguf");
                    MixedModel.Write(baseFile, candidate, members.Contains, mixedPath, cancellationToken);
                    double kld;
                    using (var mixed = GgufFile.Open(mixedPath))
                    using (var model = QualityEvaluator.Load(mixed, evaluation))
                    {
                        kld = QualityEvaluator.MeasureAgainstBase(model, QualityEvaluator.BosOf(mixed), baseLogProbabilities, $"{group.Name} {typeName}", basePath, progress, cancellationToken)
                            .Statistics.MeanKlDivergence;
                    }
                    File.Delete(mixedPath);
                    measurements[g].Add(new GroupMeasurement(type, group.Tensors.Sum(t => bytes[t]), kld));
                }
                File.Delete(candidatePath);
            }
            return new MixSensitivity(groups, [.. measurements.Select(m => (IReadOnlyList<GroupMeasurement>)m)], chunks, options.Context);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// Chooses the assignment of least predicted KL divergence within <paramref name="budget"/> and writes it to
    /// <paramref name="outputPath"/> with the quantizer (atomically), its recipe in the metadata.
    /// </summary>
    /// <exception cref="EvaluationInputException">The budget is below the smallest assignment of the measured types.</exception>
    public static OptimizeResult Write(
        string basePath, MixSensitivity sensitivity, SizeBudget budget, string outputPath, OptimizeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        ArgumentNullException.ThrowIfNull(sensitivity);
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(options);
        using var baseFile = GgufFile.Open(basePath);
        var quantization = new QuantizationOptions { Importance = options.Importance };
        var run = new QuantizerOptions { Threads = options.Threads };
        var (recipe, chosen, job) = Allocate(baseFile, sensitivity.Groups, sensitivity.Measurements, budget, quantization, outputPath, run);
        Quantizer.Run(job, null, cancellationToken);
        var choices = sensitivity.Groups.Select((g, i) => new GroupChoice(g, sensitivity.Measurements[i], chosen[i])).ToArray();
        var tensorBytes = job.Plan.Entries.Sum(e => e.TargetBytes);
        var elements = job.Plan.Entries.Sum(e => e.Tensor.ElementCount);
        return new OptimizeResult(recipe, choices, FileLength.Of(outputPath), tensorBytes * 8.0 / elements,
            choices.Sum(c => c.ChosenMeasurement.MeanKlDivergence), sensitivity.Chunks);
    }

    /// <summary>
    /// Solves the knapsack for the budget and checks the file the assignment gives with the quantizer's exact
    /// size; when padding or the recipe's own metadata push it over, the capacity shrinks by the excess and the
    /// knapsack is solved again.
    /// </summary>
    static (MixRecipe Recipe, GgmlType[] Chosen, QuantizationJob Job) Allocate(
        GgufFile baseFile, IReadOnlyList<TensorGroup> groups, IReadOnlyList<IReadOnlyList<GroupMeasurement>> measurements, SizeBudget budget,
        QuantizationOptions quantization, string outputPath, QuantizerOptions run)
    {
        var options = measurements.Select(m => (IReadOnlyList<AllocationOption>)[.. m.Select(x => new AllocationOption(x.Bytes, x.MeanKlDivergence))]).ToArray();
        long? capacity = null;
        for (var attempt = 0; attempt < 64; attempt++)
        {
            // The capacity for the groups: the budget less what the rest of the file takes (measured on the smallest assignment first).
            var picked = capacity is { } c ? MixAllocation.Solve(options, c) : [.. options.Select(o => IndexOfMin(o))];
            if (picked is null)
            {
                break;
            }
            var chosen = picked.Select((k, g) => measurements[g][k].Type).ToArray();
            var recipe = RecipeFor(groups, measurements, chosen);
            var job = QuantizationJob.Create(baseFile, PresetFor(recipe.Preset), outputPath: null, quantization with { TensorTypeOverrides = recipe.Rules },
                run with { MetadataOverrides = [.. run.MetadataOverrides, .. recipe.MetadataKeys()] });
            var tensors = job.Plan.Entries.Select(e => new GgufTensorInfo(e.Name, e.Tensor.Shape, e.TargetType)).ToArray();
            var fileLength = GgufWriter.FileLength(job.Metadata, tensors);
            var tensorBytes = job.Plan.Entries.Sum(e => e.TargetBytes);
            var elements = job.Plan.Entries.Sum(e => e.Tensor.ElementCount);
            var groupBytes = picked.Select((k, g) => measurements[g][k].Bytes).Sum();
            var allowed = budget.FileBytesAllowed(fileLength, tensorBytes, elements) - (fileLength - groupBytes);
            if (capacity is null)
            {
                if (!budget.Holds(fileLength, tensorBytes, elements))
                {
                    throw new EvaluationInputException($"the budget is below the smallest assignment of these types: {fileLength} bytes, {tensorBytes * 8.0 / elements:F3} bits per weight");
                }
                capacity = allowed;
                continue;
            }
            if (budget.Holds(fileLength, tensorBytes, elements))
            {
                return (recipe, chosen, QuantizationJob.Create(baseFile, PresetFor(recipe.Preset), outputPath, quantization with { TensorTypeOverrides = recipe.Rules },
                    run with { MetadataOverrides = [.. run.MetadataOverrides, .. recipe.MetadataKeys()] }));
            }
            capacity = Math.Min(capacity.Value - 1, allowed);
        }
        throw new EvaluationInputException("no assignment of these types fits the budget");
    }

    static int IndexOfMin(IReadOnlyList<AllocationOption> options)
    {
        var best = 0;
        for (var k = 1; k < options.Count; k++)
        {
            if (options[k].Bytes < options[best].Bytes)
            {
                best = k;
            }
        }
        return best;
    }

    /// <summary>
    /// The rules of an assignment, one per group in the groups' order, and the preset of the type that holds the
    /// most bytes (its name goes into <c>general.file_type</c>, as for any <c>--tensor-type</c> run).
    /// </summary>
    static MixRecipe RecipeFor(IReadOnlyList<TensorGroup> groups, IReadOnlyList<IReadOnlyList<GroupMeasurement>> measurements, GgmlType[] chosen)
    {
        var rules = groups.Select((g, i) => new TensorTypeOverride(g.Pattern, chosen[i])).ToArray();
        var main = chosen.Select((t, i) => (Type: t, Bytes: measurements[i].First(m => m.Type == t).Bytes)).GroupBy(x => x.Type)
            .OrderByDescending(x => x.Sum(y => y.Bytes)).ThenBy(x => (int)x.Key).First().Key;
        return new MixRecipe(PresetFor(main).Name, rules);
    }

    /// <summary>The preset a type is the main type of: the _M mix for k-quants, the single-type preset otherwise.</summary>
    static QuantizationPreset PresetFor(GgmlType type) => type switch
    {
        GgmlType.Q3_K => QuantizationPresets.Parse("Q3_K_M"),
        GgmlType.Q4_K => QuantizationPresets.Parse("Q4_K_M"),
        GgmlType.Q5_K => QuantizationPresets.Parse("Q5_K_M"),
        _ => QuantizationPresets.All.FirstOrDefault(p => p.DefaultType == type && !p.IsCopy)
            ?? throw new QuantizationException($"no preset quantizes to {GgmlTypeInfo.Of(type).Name}"),
    };

    static QuantizationPreset PresetFor(string name) => QuantizationPresets.Parse(name);
}
