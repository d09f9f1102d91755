using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Evaluation;

/// <summary>A model file as the report shows it: its path, its size on disk and its bits per weight.</summary>
/// <param name="BitsPerWeight">Tensor bytes × 8 over the weight count, as llama.cpp's loader prints "file size … BPW".</param>
public sealed record ModelFileFacts(string Path, long Size, double BitsPerWeight)
{
    public static ModelFileFacts Of(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var bytes = file.Tensors.Sum(t => t.Info.ByteSize);
        var elements = file.Tensors.Sum(t => t.Info.ElementCount);
        return new ModelFileFacts(file.Path, FileLength.Of(file.Path), elements == 0 ? 0 : bytes * 8.0 / elements);
    }
}

/// <summary>Prompt processing and generation speed in tokens per second (<c>quanta bench</c>'s pp and tg tests).</summary>
public readonly record struct TokenSpeed(double PromptTokensPerSecond, double GenerationTokensPerSecond);

/// <summary>The base model's line of the report: its perplexity over the scored positions.</summary>
public sealed record BaseResult(ModelFileFacts File, double Perplexity, TokenSpeed? Speed);

/// <summary>
/// How far one tensor moved: decode of the candidate against decode of the base, both relative to the base
/// tensor's root mean square (its norm over √n), so tensors of any scale compare.
/// </summary>
/// <param name="Layer">The block the tensor belongs to (<c>blk.N.</c>), or null for the embedding, output and norms outside blocks.</param>
public sealed record TensorError(string Name, GgmlType Type, int? Layer, double RelativeRmse, double RelativeMaxError);

/// <summary>The candidate's mean KL divergence when only <see cref="Layer"/>'s tensors are taken from it, the rest from the base.</summary>
public sealed record LayerSensitivity(int Layer, double MeanKlDivergence);

/// <summary>
/// One candidate's line of the report: llama-perplexity's <c>--kl-divergence</c> statistics against the base,
/// its speed, and (when asked) where its error sits.
/// </summary>
/// <param name="SameTopFraction">Positions where its most likely token is the base's, 0..1 (printed as a percentage).</param>
/// <param name="RmsProbabilityDifference">RMS of Δp, 0..1.</param>
public sealed record CandidateResult(
    ModelFileFacts File,
    double Perplexity,
    double PerplexityRatio,
    double MeanKlDivergence,
    double KlDivergenceP99,
    double SameTopFraction,
    double RmsProbabilityDifference,
    TokenSpeed? Speed)
{
    /// <summary>Δp of every scored position (candidate's probability of the next token minus the base's).</summary>
    public IReadOnlyList<float> ProbabilityDifferences { get; init; } = [];

    /// <summary>Per-tensor errors, when asked for; empty otherwise.</summary>
    public IReadOnlyList<TensorError> Tensors { get; init; } = [];

    /// <summary>Per-layer KL divergence, when asked for; empty otherwise.</summary>
    public IReadOnlyList<LayerSensitivity> Layers { get; init; } = [];
}

/// <summary>What <c>quanta eval</c> measured: the base, then each candidate, over the same positions.</summary>
public sealed record EvaluationReport(BaseResult Base, IReadOnlyList<CandidateResult> Candidates, int Context, int Chunks, long ScoredPositions);
