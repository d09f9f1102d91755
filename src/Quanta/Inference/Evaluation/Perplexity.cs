using Quanta.Inference.Kernels;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Inference.Evaluation;

/// <summary>Chunk <see cref="Chunk"/> (1-based) of <see cref="ChunkCount"/> is done; the perplexity over all scored so far.</summary>
public readonly record struct PerplexityProgress(int Chunk, int ChunkCount, double RunningPerplexity);

/// <summary>
/// The outcome of <see cref="Perplexity.Measure"/>: the running estimate after each chunk, the final one and its
/// uncertainty (<c>Final estimate: PPL = X +/- Y</c>).
/// </summary>
public sealed record PerplexityResult(IReadOnlyList<double> RunningPerplexities, double Value, double Uncertainty, int ScoredTokens);

/// <summary>
/// llama-perplexity's method (examples/perplexity/perplexity.cpp, <c>perplexity()</c> and <c>kl_divergence()</c>):
/// the text's tokens (BOS included) cut into chunks of <c>context</c> tokens, the remainder dropped; each chunk
/// evaluated from position 0 with its first token replaced by BOS when the vocabulary adds one; only the second
/// half scored (positions context/2 .. context−2 predicting the next token), so every scored token has at
/// least half a context before it.
/// </summary>
public static class Perplexity
{
    /// <summary>
    /// The tokens llama-perplexity evaluates for a text file's bytes: one trailing newline dropped (its
    /// <c>params.prompt</c> is read that way), special tokens (BOS) added, special text not parsed.
    /// </summary>
    public static int[] Tokenize(Tokenizer tokenizer, ReadOnlySpan<byte> text)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (text.Length > 0 && text[^1] == (byte)'\n')
        {
            text = text[..^1];
        }
        return tokenizer.Tokenize(text, addSpecial: true);
    }

    /// <summary>How many chunks the tokens give (at most <paramref name="maxChunks"/> when positive).</summary>
    public static int ChunkCount(int tokenCount, int context, int maxChunks)
    {
        if (tokenCount < 2 * context)
        {
            throw new EvaluationInputException(
                $"you need at least {2 * context} tokens to evaluate perplexity with a context of {context}; the data file you provided tokenizes to only {tokenCount} tokens");
        }
        var chunks = tokenCount / context;
        return maxChunks > 0 ? Math.Min(maxChunks, chunks) : chunks;
    }

    /// <summary>
    /// Perplexity of <paramref name="model"/> over <paramref name="tokens"/>. With <paramref name="baseOutput"/>,
    /// also writes llama-perplexity's base log-probability file there (<see cref="KlDivergenceFile"/>), and then
    /// computes −log p as that code path does (in float).
    /// </summary>
    public static PerplexityResult Measure(
        LlamaModel model, ReadOnlySpan<int> tokens, int context, int? bos, int maxChunks = 0, Stream? baseOutput = null,
        IProgress<PerplexityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 4);
        var chunks = ChunkCount(tokens.Length, context, maxChunks);
        var vocabulary = model.VocabularySize;
        var first = context / 2;
        var scored = KlDivergenceFile.ScoredPerChunk(context);
        var rowLength = KlDivergenceFile.RowLength(vocabulary);
        ushort[]? rows = null;
        if (baseOutput is not null)
        {
            KlDivergenceFile.WriteHeader(baseOutput, context, vocabulary, chunks, tokens[..(chunks * context)]);
            rows = new ushort[scored * rowLength];
        }
        var chunk = new int[context];
        var logits = new float[(long)(context - first) * vocabulary];
        var next = new int[scored];
        var values = new double[scored];
        var perRow = new ParallelLoop(model.Pool);
        var running = new List<double>(chunks);
        double nll = 0, nll2 = 0;
        var count = 0;
        for (var i = 0; i < chunks; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = i * context;
            EvaluateChunk(model, tokens.Slice(start, context), bos, chunk, first, logits, cancellationToken);
            tokens.Slice(start + first + 1, scored).CopyTo(next);
            // The rows' log-softmaxes on every thread, then summed in row order (the same doubles as one thread's).
            perRow.For(scored, j =>
            {
                var row = logits.AsSpan(j * vocabulary, vocabulary);
                values[j] = rows is null
                    ? LogSoftmax.NegativeLogLikelihood(row, next[j])
                    : LogSoftmax.Compress(row, rows.AsSpan(j * rowLength, rowLength), next[j]);
            });
            foreach (var v in values)
            {
                nll += v;
                nll2 += v * v;
            }
            if (rows is not null)
            {
                KlDivergenceFile.WriteChunk(baseOutput!, rows);
            }
            count += scored;
            running.Add(Math.Exp(nll / count));
            progress?.Report(new PerplexityProgress(i + 1, chunks, running[^1]));
        }
        var meanNll = nll / count;
        var variance = nll2 / count - meanNll * meanNll;
        var value = Math.Exp(meanNll);
        // llama-perplexity prints "Unexpected negative standard deviation" instead; NaN carries the same news.
        var uncertainty = variance > 0 ? Math.Sqrt(variance / (count - 1)) * value : double.NaN;
        return new PerplexityResult(running, value, uncertainty, count);
    }

    /// <summary>
    /// KL divergence of <paramref name="model"/> from the base in <paramref name="baseInput"/> (llama-perplexity's
    /// <c>--kl-divergence</c>): the base file's own tokens and context are used, so the text is not needed.
    /// <paramref name="chunkDone"/> is called after each chunk with its 1-based number and the running statistics.
    /// </summary>
    public static KlDivergenceStatistics MeasureKlDivergence(
        LlamaModel model, Stream baseInput, string baseName, int context, int? bos,
        Action<int, KlDivergenceStatistics>? chunkDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var file = KlDivergenceFile.ReadHeader(baseInput, baseName);
        if (file.Context > context)
        {
            throw new EvaluationInputException(
                $"{baseName} has been computed with a context of {file.Context}, while the current context is {context}. Increase it with -c and retry");
        }
        if (file.VocabularySize != model.VocabularySize)
        {
            throw new EvaluationInputException(
                $"{baseName}: inconsistent vocabulary ({file.VocabularySize} in the base file vs {model.VocabularySize} in the model)");
        }
        var vocabulary = model.VocabularySize;
        if (file.Tokens.FirstOrDefault(t => t < 0 || t >= vocabulary, -1) is var outside and >= 0)
        {
            throw new EvaluationInputException($"{baseName}: token {outside} is outside the model's vocabulary (0..{vocabulary - 1})");
        }
        var n = file.Context;
        var first = n / 2;
        var scored = KlDivergenceFile.ScoredPerChunk(n);
        var rowLength = KlDivergenceFile.RowLength(vocabulary);
        var rows = new ushort[scored * rowLength];
        var tokens = file.Tokens.ToArray();
        var chunk = new int[n];
        var logits = new float[(long)(n - first) * vocabulary];
        var statistics = new KlDivergenceStatistics();
        for (var i = 0; i < file.ChunkCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            KlDivergenceFile.ReadChunk(baseInput, rows, i, baseName);
            var start = i * n;
            EvaluateChunk(model, tokens.AsSpan(start, n), bos, chunk, first, logits, cancellationToken);
            statistics.AddRows(model.Pool, logits, vocabulary, rows, rowLength, tokens, start + first + 1, scored);
            chunkDone?.Invoke(i + 1, statistics);
        }
        return statistics;
    }

    // The whole chunk is one batch: llama-perplexity's -b only splits the same computation (its logits differ by
    // float rounding at most), so it is accepted and needs no second code path here. Only the scored half's logits
    // are computed (llama-perplexity asks for no others either: batch.logits[i] = pos >= first), so `logits` holds
    // positions first.. from row 0 and the output matrix, the largest one, runs on half the rows. The chunk stays one
    // forward pass of `context` tokens (up to the model's micro-batch), as llama.cpp's; how a batch is split changes
    // no bit anyway (each token's products are its own, and the cells a token cannot see are exact zeros either way:
    // MicroBatchTests).
    static void EvaluateChunk(LlamaModel model, ReadOnlySpan<int> tokens, int? bos, int[] chunk, int first, float[] logits, CancellationToken cancellationToken)
    {
        tokens.CopyTo(chunk);
        if (bos is { } b)
        {
            chunk[0] = b;
        }
        model.EvaluateFrom(chunk, position: 0, contextLength: chunk.Length, firstOutput: first, logits, cancellationToken);
    }
}
