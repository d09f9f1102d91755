using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Inference.Vision;

/// <summary>
/// The language model's side of <c>vision-check</c>: the next-token distribution after a fixed captioning prompt with
/// the picture in it (<see cref="Prompt"/>, laid out as a chat prompt lays a picture out: LLaVA's rows in place of the
/// tag, Gemma 3's wrapped in its markers and attended both ways), so that a base and a quantized model can be compared
/// by the KL divergence of what they would say first about the picture.
/// </summary>
public sealed class CaptionProbe(LlamaModel model, Tokenizer tokenizer, VisionProjectorType projector)
{
    /// <summary>The captioning prompt; <c>[img-0]</c> is where the picture goes.</summary>
    public const string Prompt = "[img-0]Describe this picture in one sentence.";

    public int VocabularySize => model.VocabularySize;

    /// <summary>The logits of the token after <see cref="Prompt"/> with <paramref name="image"/>'s embeddings.</summary>
    public float[] NextTokenLogits(VisionEmbedding image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var pieces = ImagePrompt.Layout(Prompt, [image], projector, tokenizer);
        var total = pieces.Sum(p => p.Positions);
        var vocabulary = model.VocabularySize;
        var logits = new float[vocabulary];
        var position = 0;
        foreach (var piece in pieces)
        {
            if (piece.Tokens is { Length: > 0 } tokens)
            {
                model.EvaluateLast(tokens, position, total, logits, cancellationToken);
            }
            else if (piece.Image is { } rows)
            {
                model.EvaluateEmbeddings(rows.Embeddings, position, total, logits, piece.Bidirectional, cancellationToken);
            }
            position += piece.Positions;
        }
        return logits;
    }

    /// <summary>KL(P ‖ Q) in nats of the softmax distributions of two logit rows, in double precision.</summary>
    public static double KlDivergence(ReadOnlySpan<float> baseLogits, ReadOnlySpan<float> otherLogits)
    {
        if (baseLogits.Length != otherLogits.Length)
        {
            throw new ArgumentException($"{baseLogits.Length} logits against {otherLogits.Length}", nameof(otherLogits));
        }
        var p = LogSoftmax(baseLogits);
        var q = LogSoftmax(otherLogits);
        var kl = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            kl += Math.Exp(p[i]) * (p[i] - q[i]);
        }
        // A distribution against itself is 0 exactly; rounding must not make it negative.
        return Math.Max(kl, 0);
    }

    static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v);
        }
        var sum = 0.0;
        foreach (var v in logits)
        {
            sum += Math.Exp(v - max);
        }
        var log = max + Math.Log(sum);
        var result = new double[logits.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = logits[i] - log;
        }
        return result;
    }
}
