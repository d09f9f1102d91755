using Quanta.Formats.Gguf;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Evaluation;

/// <summary>What the evaluator is doing: a stage ("base", "candidate", "layer N", "speed") of a model, and a chunk of it.</summary>
public readonly record struct EvaluationProgress(string Stage, string Model, int Chunk, int ChunkCount);

/// <summary>Measures a model's speed with an open file and its loaded model (the CLI hands in <c>bench</c>'s tests).</summary>
public delegate TokenSpeed SpeedProbe(GgufFile file, LlamaModel model, CancellationToken cancellationToken);

/// <summary>The knobs of <see cref="QualityEvaluator.Run"/>.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Tokens per chunk (<c>-c</c>); ignored when an existing base file is reused (its own context is used).</summary>
    public int Context { get; init; } = 512;

    /// <summary>At most this many chunks (0 or less: all the text gives).</summary>
    public int MaxChunks { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>A chunk is evaluated in pieces of this many tokens.</summary>
    public int MicroBatch { get; init; } = 512;

    public KvCacheTypes CacheTypes { get; init; } = KvCacheTypes.Default;

    /// <summary>Measure each tensor's decode error against the base.</summary>
    public bool TensorErrors { get; init; }

    /// <summary>Measure the KL divergence with one layer at a time taken from the candidate.</summary>
    public bool PerLayer { get; init; }

    /// <summary>Where the mixed one-layer models are written for <see cref="PerLayer"/> (deleted after use).</summary>
    public string? ScratchDirectory { get; init; }

    /// <summary>Measures each model's speed, or null for none.</summary>
    public SpeedProbe? Speed { get; init; }
}

/// <summary>
/// <c>quanta eval</c>'s measurement: the base evaluated once over the text (llama-perplexity's method,
/// <see cref="Perplexity.Measure"/>), its log-probabilities kept in llama-perplexity's base file; then each
/// candidate scored against that file (<see cref="Perplexity.MeasureKlDivergence"/>), so every figure is the one
/// <c>llama-perplexity --kl-divergence</c> prints for it.
/// </summary>
public static class QualityEvaluator
{
    /// <summary>
    /// Evaluates <paramref name="candidatePaths"/> against <paramref name="basePath"/>. When
    /// <paramref name="baseLogProbabilities"/> exists and <paramref name="text"/> is null, that saved base file is
    /// reused (the base is not evaluated again); otherwise the base is evaluated over <paramref name="text"/>
    /// and the file written there (atomically).
    /// </summary>
    /// <exception cref="EvaluationInputException">The text, base file or a model cannot be evaluated; the message says why.</exception>
    public static EvaluationReport Run(
        string basePath, IReadOnlyList<string> candidatePaths, ReadOnlyMemory<byte>? text, string baseLogProbabilities,
        EvaluationOptions options, IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(basePath);
        ArgumentNullException.ThrowIfNull(candidatePaths);
        ArgumentNullException.ThrowIfNull(baseLogProbabilities);
        ArgumentNullException.ThrowIfNull(options);

        using var baseFile = GgufFile.Open(basePath);
        double? basePerplexity = null;
        TokenSpeed? baseSpeed = null;
        if (text is { } bytes)
        {
            using var model = Load(baseFile, options);
            var tokens = Perplexity.Tokenize(new Tokenizer(Vocabulary.Load(baseFile)), bytes.Span);
            var chunks = Perplexity.ChunkCount(tokens.Length, options.Context, options.MaxChunks);
            basePerplexity = WriteBase(model, tokens, BosOf(baseFile), options, baseLogProbabilities, chunks, basePath, progress, cancellationToken).Value;
            if (options.Speed is { } probe)
            {
                progress?.Report(new EvaluationProgress("speed", basePath, 0, 0));
                baseSpeed = probe(baseFile, model, cancellationToken);
            }
        }
        else if (options.Speed is { } speed)
        {
            using var model = Load(baseFile, options);
            progress?.Report(new EvaluationProgress("speed", basePath, 0, 0));
            baseSpeed = speed(baseFile, model, cancellationToken);
        }

        var candidates = new List<CandidateResult>(candidatePaths.Count);
        int context = 0, chunkCount = 0;
        long scored = 0;
        foreach (var path in candidatePaths)
        {
            using var file = GgufFile.Open(path);
            KlDivergenceStatistics statistics;
            TokenSpeed? speed;
            using (var model = Load(file, options))
            {
                (statistics, context, chunkCount) = MeasureAgainstBase(model, BosOf(file), baseLogProbabilities, "candidate", path, progress, cancellationToken);
                speed = null;
                if (options.Speed is { } probe)
                {
                    progress?.Report(new EvaluationProgress("speed", path, 0, 0));
                    speed = probe(file, model, cancellationToken);
                }
            }
            scored = statistics.Count;
            basePerplexity ??= statistics.BasePerplexity;
            var tensors = options.TensorErrors || options.PerLayer ? TensorErrors.Measure(baseFile, file, cancellationToken) : [];
            var layers = options.PerLayer ? MeasureLayers(baseFile, file, baseLogProbabilities, options, progress, cancellationToken) : [];
            candidates.Add(new CandidateResult(
                ModelFileFacts.Of(file),
                statistics.ModelPerplexity,
                statistics.PerplexityRatio,
                statistics.MeanKlDivergence,
                statistics.KlDivergencePercentile(0.99f),
                statistics.SameTopFraction,
                statistics.RmsProbabilityDifferenceValue,
                speed)
            {
                ProbabilityDifferences = [.. statistics.ProbabilityDifferences],
                Tensors = tensors,
                Layers = layers,
            });
        }
        if (basePerplexity is null)
        {
            // No text and no candidate: the saved file alone says nothing about the base's perplexity.
            throw new EvaluationInputException("nothing to evaluate: give at least one candidate model");
        }
        return new EvaluationReport(new BaseResult(ModelFileFacts.Of(baseFile), basePerplexity.Value, baseSpeed), candidates, context, chunkCount, scored);
    }

    internal static LlamaModel Load(GgufFile file, EvaluationOptions options)
    {
        var model = LlamaModel.Load(file, options.Threads, null, options.CacheTypes);
        model.MicroBatch = options.MicroBatch;
        return model;
    }

    /// <summary>The BOS llama-perplexity puts first in every chunk, when the vocabulary adds one.</summary>
    internal static int? BosOf(GgufFile file)
    {
        var vocabulary = Vocabulary.Load(file);
        if (vocabulary.AddEos)
        {
            // llama-perplexity asserts this: an EOS appended to the text would be scored as if it were text.
            throw new EvaluationInputException($"{file.Path}: the vocabulary appends EOS to every text, which perplexity cannot score");
        }
        return vocabulary.AddBos ? vocabulary.Bos : null;
    }

    internal static PerplexityResult WriteBase(
        LlamaModel model, int[] tokens, int? bos, EvaluationOptions options, string path, int chunks, string name,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            PerplexityResult result;
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var chunkProgress = progress is null ? null : new Progress(p => progress.Report(new EvaluationProgress("base", name, p.Chunk, p.ChunkCount)));
                result = Perplexity.Measure(model, tokens, options.Context, bos, chunks, stream, chunkProgress, cancellationToken);
            }
            File.Move(temporary, full, overwrite: true);
            return result;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    internal static (KlDivergenceStatistics Statistics, int Context, int Chunks) MeasureAgainstBase(
        LlamaModel model, int? bos, string baseLogProbabilities, string stage, string name,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(baseLogProbabilities, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var header = KlDivergenceFile.ReadHeader(stream, baseLogProbabilities);
        stream.Position = 0;
        var statistics = Perplexity.MeasureKlDivergence(model, stream, baseLogProbabilities, header.Context, bos,
            (chunk, _) => progress?.Report(new EvaluationProgress(stage, name, chunk, header.ChunkCount)), cancellationToken);
        return (statistics, header.Context, header.ChunkCount);
    }

    /// <summary>
    /// For each block, a model with that block's tensors from the candidate and every other tensor from the base,
    /// written to a scratch file and scored against the base like a candidate.
    /// </summary>
    static IReadOnlyList<LayerSensitivity> MeasureLayers(
        GgufFile baseFile, GgufFile candidate, string baseLogProbabilities, EvaluationOptions options,
        IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var layers = TransformerHyperparameters.FromMetadata(baseFile.Metadata).BlockCount;
        var scratch = options.ScratchDirectory ?? Path.GetTempPath();
        var results = new List<LayerSensitivity>(layers);
        for (var layer = 0; layer < layers; layer++)
        {
            var path = Path.Combine(scratch, $".quanta-eval-layer{layer}.{Environment.ProcessId}.gguf");
            try
            {
                MixedModel.Write(baseFile, candidate, layer, path, cancellationToken);
                using var mixed = GgufFile.Open(path);
                using var model = Load(mixed, options);
                var (statistics, _, _) = MeasureAgainstBase(model, BosOf(mixed), baseLogProbabilities, $"layer {layer}", candidate.Path, progress, cancellationToken);
                results.Add(new LayerSensitivity(layer, statistics.MeanKlDivergence));
            }
            finally
            {
                File.Delete(path);
            }
        }
        return results;
    }

    sealed class Progress(Action<PerplexityProgress> report) : IProgress<PerplexityProgress>
    {
        public void Report(PerplexityProgress value) => report(value);
    }
}
