using Quanta.Formats.Imatrix;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Kernels;
using Quanta.Inference.Models;

namespace Quanta.Inference.Imatrix;

/// <summary>llama-imatrix's options that shape the computation (<c>-c</c>, <c>-b</c>, <c>-ub</c>, <c>--chunks</c>, <c>--chunk</c>, <c>--process-output</c>, <c>--no-ppl</c>).</summary>
public sealed record ImportanceMatrixOptions
{
    /// <summary>Tokens per chunk; every chunk is evaluated from position 0 (<c>-c</c>, default 512).</summary>
    public int Context { get; init; } = 512;

    /// <summary>Tokens per <c>llama_decode</c> call (<c>-b</c>, default 2048, at most the context).</summary>
    public int Batch { get; init; } = 2048;

    /// <summary>
    /// Tokens per forward pass (<c>-ub</c>, default 512): llama.cpp splits each batch into these, and every pass
    /// of at least 16 tokens is one call of each weight.
    /// </summary>
    public int MicroBatch { get; init; } = 512;

    /// <summary>At most this many chunks; 0 or less: all the text gives (<c>--chunks</c>).</summary>
    public int MaxChunks { get; init; }

    /// <summary>Chunks skipped at the start of the text (<c>--chunk</c>).</summary>
    public int SkipChunks { get; init; }

    /// <summary>Collect <c>output.weight</c> too (<c>--process-output</c>).</summary>
    public bool ProcessOutput { get; init; }

    /// <summary><c>--output-frequency</c>: the output file is saved every this many chunks (default 10; see <see cref="ImportanceMatrixCollector.Save"/>).</summary>
    public int OutputFrequency { get; init; } = 10;

    /// <summary><c>--save-frequency</c>: a copy is saved every this many chunks (default 0: never).</summary>
    public int SaveFrequency { get; init; }

    /// <summary>Compute the perplexity of the second half of each chunk as llama-perplexity does (default; <c>--no-ppl</c> turns it off).</summary>
    public bool ComputePerplexity { get; init; } = true;
}

/// <summary>Chunk <see cref="Chunk"/> of <see cref="ChunkCount"/> is done; the running perplexity (NaN without one) and the time so far.</summary>
public readonly record struct ImportanceMatrixProgress(int Chunk, int ChunkCount, double RunningPerplexity, TimeSpan Elapsed, long Tokens);

/// <summary>What a computation saw: chunks, tokens evaluated, the running perplexities and the final one with its uncertainty (NaN without perplexity).</summary>
public sealed record ImportanceMatrixRun(int Chunks, long Tokens, IReadOnlyList<double> RunningPerplexities, double Perplexity, double Uncertainty, TimeSpan Elapsed);

/// <summary>
/// llama-imatrix's <c>compute_imatrix</c> (tools/imatrix/imatrix.cpp): the text's tokens (BOS included) cut into
/// chunks of <see cref="ImportanceMatrixOptions.Context"/>, the remainder dropped; each chunk evaluated from an
/// empty cache with its first token replaced by BOS when the vocabulary adds one, in batches split into
/// micro-batches as <c>llama_decode</c> splits them, while an <see cref="ImportanceMatrixCollector"/> watches every
/// multiplication; and, unless turned off, the perplexity of each chunk's second half.
/// </summary>
public static class ImportanceMatrixComputation
{
    /// <summary>How many chunks <paramref name="tokenCount"/> tokens give, after the checks llama-imatrix makes.</summary>
    /// <exception cref="EvaluationInputException">Too few tokens (llama-imatrix's messages).</exception>
    public static int ChunkCount(int tokenCount, ImportanceMatrixOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var n = options.Context;
        if (options.SkipChunks > 0)
        {
            if ((long)(options.SkipChunks + 2) * n >= tokenCount)
            {
                throw new EvaluationInputException($"there will be not enough tokens left after removing {options.SkipChunks} chunks");
            }
            tokenCount -= options.SkipChunks * n;
        }
        if (tokenCount < 2 * n)
        {
            throw new EvaluationInputException(
                $"you need at least {2 * n} tokens for a context of {n} tokens; the data file you provided tokenizes to only {tokenCount} tokens");
        }
        var chunks = tokenCount / n;
        return options.MaxChunks > 0 ? Math.Min(options.MaxChunks, chunks) : chunks;
    }

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="tokens"/> and adds what it sees into
    /// <paramref name="matrix"/> (whose chunk size should be the context); its chunk count is updated at the end.
    /// <paramref name="save"/> is called where llama-imatrix saves as it goes (<see cref="ImportanceMatrixCollector.Save"/>).
    /// </summary>
    public static ImportanceMatrixRun Compute(
        LlamaModel model, ReadOnlySpan<int> tokens, int? bos, ImportanceMatrix matrix, ImportanceMatrixOptions options,
        IProgress<ImportanceMatrixProgress>? progress = null, CancellationToken cancellationToken = default, Action<int?>? save = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(options);
        var n = options.Context;
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 4, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Batch, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MicroBatch, 1, nameof(options));
        var chunks = ChunkCount(tokens.Length, options);
        tokens = tokens[(Math.Max(0, options.SkipChunks) * n)..];
        var batch = Math.Min(options.Batch, n);
        var pass = Math.Min(options.MicroBatch, batch);
        var vocabulary = model.VocabularySize;
        var first = n / 2;
        var chunk = new int[n];
        // Only the logits perplexity scores (positions first.. of each chunk), and none without it, unless the
        // output matrix is collected (it must see every position, as llama-imatrix computes them all).
        var outputFrom = options.ProcessOutput ? 0 : options.ComputePerplexity ? first : n;
        var scored = n - 1 - first;
        var logits = options.ComputePerplexity ? new float[(long)(n - first) * vocabulary] : null;
        var passLogits = new float[(long)pass * vocabulary];
        var next = new int[scored];
        var values = new double[scored];
        var perRow = new ParallelLoop(model.Pool);
        var running = new List<double>(chunks);
        double nll = 0, nll2 = 0;
        var count = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var collector = new ImportanceMatrixCollector(matrix, options.ProcessOutput)
        {
            OutputFrequency = options.OutputFrequency,
            SaveFrequency = options.SaveFrequency,
            Save = save,
        };
        using (ActivationObservation.Begin(collector))
        {
            for (var i = 0; i < chunks; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = i * n;
                tokens.Slice(start, n).CopyTo(chunk);
                if (bos is { } b)
                {
                    chunk[0] = b;
                }
                // Batches of -b tokens, each decoded as passes of at most -ub tokens, as llama_decode splits them.
                for (var batchStart = 0; batchStart < n; batchStart += batch)
                {
                    var batchEnd = Math.Min(n, batchStart + batch);
                    for (var p = batchStart; p < batchEnd; p += pass)
                    {
                        var length = Math.Min(pass, batchEnd - p);
                        // passLogits holds positions p + firstOutput .. p + length − 1.
                        var firstOutput = Math.Clamp(outputFrom - p, 0, length);
                        // A pass whose logits are exactly the scored half (the whole chunk in one pass, as by default)
                        // writes them in place rather than through passLogits and a 32 MB copy per chunk.
                        var direct = logits is not null && p + firstOutput == first && p + length == n;
                        model.EvaluateFrom(chunk.AsSpan(p, length), p, n, firstOutput, direct ? logits! : passLogits, cancellationToken);
                        var kept = Math.Max(p + firstOutput, first);
                        if (logits is not null && !direct && kept < p + length)
                        {
                            passLogits.AsSpan((kept - p - firstOutput) * vocabulary, (p + length - kept) * vocabulary).CopyTo(logits.AsSpan((kept - first) * vocabulary));
                        }
                    }
                }
                if (logits is not null)
                {
                    // Row by row on every thread, then summed in row order: the doubles of one thread.
                    tokens.Slice(start + first + 1, scored).CopyTo(next);
                    perRow.For(scored, j => values[j] = LogSoftmax.NegativeLogLikelihood(logits.AsSpan(j * vocabulary, vocabulary), next[j]));
                    foreach (var v in values)
                    {
                        nll += v;
                        nll2 += v * v;
                    }
                    count += scored;
                    running.Add(Math.Exp(nll / count));
                }
                progress?.Report(new ImportanceMatrixProgress(i + 1, chunks, logits is null ? double.NaN : running[^1], clock.Elapsed, (long)(i + 1) * n));
            }
        }
        matrix.ChunkCount = (int)(matrix.LargestCount() / matrix.ChunkSize);
        var perplexity = double.NaN;
        var uncertainty = double.NaN;
        if (count > 0)
        {
            var mean = nll / count;
            var variance = nll2 / count - mean * mean;
            perplexity = Math.Exp(mean);
            uncertainty = variance > 0 ? Math.Sqrt(variance / (count - 1)) * perplexity : double.NaN;
        }
        return new ImportanceMatrixRun(chunks, (long)chunks * n, running, perplexity, uncertainty, clock.Elapsed);
    }
}
