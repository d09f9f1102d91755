using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Images;

namespace Quanta.Inference.Vision;

/// <summary>How close two vision paths' outputs are: cosine similarity and relative error (‖q − b‖/‖b‖) of one output.</summary>
public readonly record struct Similarity(double Cosine, double RelativeError)
{
    /// <summary>Both figures finite.</summary>
    public bool IsFinite => double.IsFinite(Cosine) && double.IsFinite(RelativeError);

    /// <summary>Of the flattened outputs; NaN when either holds a non-finite value or the shapes differ.</summary>
    public static Similarity Of(ReadOnlySpan<float> baseline, ReadOnlySpan<float> other)
    {
        if (baseline.Length != other.Length || baseline.IsEmpty)
        {
            return new(double.NaN, double.NaN);
        }
        double dot = 0, bb = 0, oo = 0, dd = 0;
        for (var i = 0; i < baseline.Length; i++)
        {
            double b = baseline[i], o = other[i];
            dot += b * o;
            bb += b * b;
            oo += o * o;
            dd += (o - b) * (o - b);
        }
        if (!double.IsFinite(dot) || !double.IsFinite(oo) || !double.IsFinite(bb))
        {
            return new(double.NaN, double.NaN);
        }
        var cosine = bb == 0 && oo == 0 ? 1.0 : dot / Math.Sqrt(bb * oo);
        var relative = bb == 0 ? (dd == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(dd / bb);
        return new(Math.Min(cosine, 1.0), relative);
    }
}

/// <summary>The verdict words of <c>vision-check</c>.</summary>
public enum VisionVerdict
{
    Ok,
    Degraded,
    Broken,
}

/// <summary>
/// One picture through both vision paths. <paramref name="TowerLoss"/> is what the quantized tower alone costs
/// (1 − cosine of the base projector on the base tower against the base projector on the quantized tower),
/// <paramref name="ProjectorLoss"/> what the quantized projector adds (1 − cosine of the base projector against the
/// quantized projector, both on the quantized tower).
/// </summary>
public sealed record VisionImageCheck(string Name, int Tokens, Similarity Tower, Similarity Projected, double TowerLoss, double ProjectorLoss)
{
    /// <summary>
    /// <c>ok</c> when both similarities are at least 0.99, <c>degraded</c> at least 0.95, <c>broken</c> below or when
    /// anything is not finite (a corrupted tower is a verdict, not an error).
    /// </summary>
    public VisionVerdict Verdict => VisionCheck.VerdictOf(Math.Min(Tower.Cosine, Projected.Cosine), Tower.IsFinite && Projected.IsFinite);

    /// <summary>The component that lost most: <c>tower</c> or <c>projector</c> (a non-finite loss counts as the most).</summary>
    public string LostMost => !Tower.IsFinite || double.IsNaN(TowerLoss) ? "tower" : double.IsNaN(ProjectorLoss) ? "projector"
        : TowerLoss >= ProjectorLoss ? "tower" : "projector";

    /// <summary>
    /// KL divergence (nats) of the quantized model's next-token distribution from the base's on
    /// <see cref="CaptionProbe.Prompt"/> with the picture, each model with its own vision path; null without language models.
    /// </summary>
    public double? NextTokenKl { get; init; }
}

/// <summary>
/// <c>vision-check</c>'s measurement: the same pictures through a base and a quantized vision path (tower and
/// projector), compared after the tower and after the projector. The paths may come from different layouts (a
/// projector file against Ollama's single gemma3 file) as long as they have the same shape.
/// </summary>
public static class VisionCheck
{
    public const double OkThreshold = 0.99;
    public const double DegradedThreshold = 0.95;

    public static VisionVerdict VerdictOf(double similarity, bool finite) =>
        !finite || double.IsNaN(similarity) ? VisionVerdict.Broken
        : similarity >= OkThreshold ? VisionVerdict.Ok
        : similarity >= DegradedThreshold ? VisionVerdict.Degraded
        : VisionVerdict.Broken;

    /// <summary>The verdict word as printed.</summary>
    public static string Word(VisionVerdict verdict) => verdict switch
    {
        VisionVerdict.Ok => "ok",
        VisionVerdict.Degraded => "degraded",
        _ => "broken",
    };

    /// <summary>The built-in test patterns followed by <paramref name="userImages"/>, each with its name (file stem).</summary>
    public static IReadOnlyList<(string Name, RgbImage Image)> Images(IEnumerable<string> userImages)
    {
        ArgumentNullException.ThrowIfNull(userImages);
        var images = TestPatterns.BuiltIn.Select(p => (p.Name, TestPatterns.Create(p.Name, p.Width, p.Height))).ToList();
        foreach (var path in userImages)
        {
            images.Add((Path.GetFileNameWithoutExtension(path), ImageDecoder.DecodeFile(path)));
        }
        return images;
    }

    /// <summary>
    /// Runs <paramref name="image"/> through both paths; <paramref name="save"/> receives the projected embeddings
    /// (base, then quantized) when not null.
    /// </summary>
    /// <exception cref="InvalidOperationException">The two paths give different token counts or widths.</exception>
    public static VisionImageCheck Compare(string name, RgbImage image, VisionModel baseline, VisionModel quantized,
        Action<VisionEmbedding, VisionEmbedding>? save = null, CancellationToken cancellationToken = default) =>
        Compare(name, image, baseline, quantized, null, null, save, cancellationToken);

    /// <summary>
    /// As the overload without probes; with a language model on each side (<paramref name="baseProbe"/>,
    /// <paramref name="quantizedProbe"/>), also the KL divergence of their next tokens after the captioning prompt.
    /// </summary>
    /// <exception cref="InvalidOperationException">Also: two language models with different vocabulary sizes.</exception>
    public static VisionImageCheck Compare(string name, RgbImage image, VisionModel baseline, VisionModel quantized, CaptionProbe? baseProbe, CaptionProbe? quantizedProbe,
        Action<VisionEmbedding, VisionEmbedding>? save = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(quantized);
        var b = baseline.Encode(image, cancellationToken);
        var q = quantized.Encode(image, cancellationToken);
        if (b.Tokens != q.Tokens || b.EmbeddingLength != q.EmbeddingLength || b.TowerOutput.Length != q.TowerOutput.Length)
        {
            throw new InvalidOperationException(
                $"{name}: the two vision paths do not have the same shape ({b.Tokens} × {b.EmbeddingLength} tokens against {q.Tokens} × {q.EmbeddingLength})");
        }
        save?.Invoke(b, q);
        // The quantized tower through the base projector separates the two components' losses.
        var mixed = baseline.ProjectTowerOutput(q);
        var towerLoss = 1 - Similarity.Of(b.Embeddings, mixed).Cosine;
        var projectorLoss = 1 - Similarity.Of(mixed, q.Embeddings).Cosine;
        double? kl = null;
        if (baseProbe is not null && quantizedProbe is not null)
        {
            if (baseProbe.VocabularySize != quantizedProbe.VocabularySize)
            {
                throw new InvalidOperationException($"the two language models have different vocabularies ({baseProbe.VocabularySize} and {quantizedProbe.VocabularySize} tokens)");
            }
            kl = CaptionProbe.KlDivergence(baseProbe.NextTokenLogits(b, cancellationToken), quantizedProbe.NextTokenLogits(q, cancellationToken));
        }
        return new VisionImageCheck(name, b.Tokens, Similarity.Of(b.TowerOutput, q.TowerOutput), Similarity.Of(b.Embeddings, q.Embeddings), towerLoss, projectorLoss)
        {
            NextTokenKl = kl,
        };
    }

    /// <summary>Writes <paramref name="embedding"/>'s projected rows as raw float32 <c>[tokens][width]</c>, atomically.</summary>
    public static void SaveEmbeddings(string path, VisionEmbedding embedding)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        var (temporary, stream) = TemporaryFiles.Create(path, 1 << 16);
        try
        {
            using (stream)
            {
                stream.Write(MemoryMarshal.AsBytes(embedding.Embeddings.AsSpan()));
            }
            File.Move(temporary, Path.GetFullPath(path), overwrite: true);
            TemporaryFiles.Forget(temporary);
        }
        catch
        {
            TemporaryFiles.TryDelete(temporary);
            throw;
        }
    }
}
