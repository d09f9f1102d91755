using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Evaluation;

/// <summary>
/// The base file in llama-perplexity's layout (examples/perplexity/perplexity.cpp: "_logits_", int32 n_ctx,
/// n_vocab, n_chunk, the tokens, then per chunk n_ctx − 1 − n_ctx/2 rows of 2·⌈n_vocab/2⌉ + 4 uint16), read back
/// as written, and its compressed log-probabilities as llama-perplexity decodes them.
/// </summary>
public sealed class KlDivergenceFileTests
{
    [Fact]
    public void Written_file_has_llama_perplexity_layout_and_reads_back()
    {
        const int context = 8;
        const int vocabulary = 5; // odd, so each row carries one padding slot
        const int chunks = 2;
        var tokens = Enumerable.Range(0, context * chunks).Select(i => i % vocabulary).ToArray();
        var rowLength = KlDivergenceFile.RowLength(vocabulary);
        var scored = KlDivergenceFile.ScoredPerChunk(context);
        Assert.Equal(2 * 3 + 4, rowLength);
        Assert.Equal(3, scored);

        var random = new Random(7);
        var logits = Enumerable.Range(0, scored * vocabulary).Select(_ => (float)(random.NextDouble() * 20 - 10)).ToArray();
        var rows = new ushort[scored * rowLength];
        var nll = new double[scored];
        for (var j = 0; j < scored; j++)
        {
            nll[j] = CompressRow(logits.AsSpan(j * vocabulary, vocabulary), rows.AsSpan(j * rowLength, rowLength), tokens[j + 1]);
        }
        using var stream = new MemoryStream();
        KlDivergenceFile.WriteHeader(stream, context, vocabulary, chunks, tokens);
        KlDivergenceFile.WriteChunk(stream, rows);
        KlDivergenceFile.WriteChunk(stream, rows);
        var bytes = stream.ToArray();

        // The byte offsets llama-perplexity reads.
        Assert.Equal(20 + 4 * context * chunks + chunks * scored * rowLength * 2, bytes.Length);
        Assert.Equal("_logits_"u8.ToArray(), bytes[..8]);
        Assert.Equal(context, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(vocabulary, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(chunks, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(tokens, MemoryMarshal.Cast<byte, int>(bytes.AsSpan(20, 4 * tokens.Length)).ToArray());
        var firstRow = bytes.AsSpan(20 + 4 * tokens.Length, rowLength * 2);
        var scale = BinaryPrimitives.ReadSingleLittleEndian(firstRow);
        var minLogProbability = BinaryPrimitives.ReadSingleLittleEndian(firstRow[4..]);
        for (var i = 0; i < vocabulary; i++)
        {
            // Decoded as kl_divergence's log_softmax does: scale * code + min_log_prob, to half a step of 16/65535.
            var decoded = scale * BinaryPrimitives.ReadUInt16LittleEndian(firstRow[(8 + 2 * i)..]) + minLogProbability;
            var exact = ExactLogSoftmax(logits.AsSpan(0, vocabulary), i);
            Assert.InRange(decoded, Math.Max(exact, minLogProbability) - scale, Math.Max(exact, minLogProbability) + scale);
        }
        Assert.Equal(-ExactLogSoftmax(logits.AsSpan(0, vocabulary), tokens[1]), nll[0], 4);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(firstRow[(8 + 2 * vocabulary)..])); // padding

        stream.Position = 0;
        var read = KlDivergenceFile.ReadHeader(stream, "base");
        Assert.Equal((context, vocabulary, chunks), (read.Context, read.VocabularySize, read.ChunkCount));
        Assert.Equal(tokens, read.Tokens);
        var back = new ushort[rows.Length];
        KlDivergenceFile.ReadChunk(stream, back, 0, "base");
        Assert.Equal(rows, back);
        KlDivergenceFile.ReadChunk(stream, back, 1, "base");
        Assert.Equal(rows, back);
        var error = Assert.Throws<EvaluationInputException>(() => KlDivergenceFile.ReadChunk(stream, back, 2, "base"));
        Assert.Contains("failed reading log-probs for chunk 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_row_compares_with_itself_as_zero_divergence_and_the_same_top_token()
    {
        const int vocabulary = 1000;
        var random = new Random(3);
        var rowLength = KlDivergenceFile.RowLength(vocabulary);
        var statistics = new KlDivergenceStatistics();
        for (var r = 0; r < 120; r++)
        {
            var logits = Enumerable.Range(0, vocabulary).Select(_ => (float)(random.NextDouble() * 12)).ToArray();
            var row = new ushort[rowLength];
            CompressRow(logits, row, r % vocabulary);
            statistics.Add(logits, row, r % vocabulary);
        }
        Assert.Equal(120, statistics.Count);
        Assert.Equal(120, statistics.SameTop);
        var report = statistics.FormatReport();
        Assert.NotNull(report);
        // The only divergence left is the uint16 rounding of the base: far below the printed 1e-6.
        Assert.Matches(@"\nMean    KLD: +-?0\.00000\d ± +0\.00000\d\n", report);
        Assert.Contains("Same top p: 100.000 ± 0.000 %\n", report, StringComparison.Ordinal);
        Assert.Matches(@"\nMean PPL\(Q\)/PPL\(base\) +: +(1\.00000\d|0\.99999\d) ±", report);
    }

    [Theory]
    [InlineData("not a base file at all", "does not look like a file containing log-probabilities")]
    [InlineData("_logits_\u0080", "failed reading n_ctx, n_vocab, n_chunk")]
    public void Files_that_are_not_bases_are_refused(string content, string message)
    {
        using var stream = new MemoryStream(System.Text.Encoding.Latin1.GetBytes(content));
        var error = Assert.Throws<EvaluationInputException>(() => KlDivergenceFile.ReadHeader(stream, "x.kld"));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// llama-perplexity scores a chunk's rows on all its threads (<c>process_logits</c>); <see cref="KlDivergenceStatistics.AddRows"/>
    /// does too, and then adds the rows in order, so every statistic is exactly that of adding them one by one.
    /// </summary>
    [Fact]
    public void Rows_scored_on_several_threads_give_the_one_thread_statistics_bit_for_bit()
    {
        const int vocabulary = 3000;
        const int rows = 37;
        var random = new Random(5);
        var rowLength = KlDivergenceFile.RowLength(vocabulary);
        var sequential = new KlDivergenceStatistics();
        var threaded = new KlDivergenceStatistics();
        using var pool = new WorkerPool(3);
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var logits = new float[rows * vocabulary];
            var baseRows = new ushort[rows * rowLength];
            var tokens = new int[rows + 5];
            for (var r = 0; r < rows; r++)
            {
                var token = random.Next(vocabulary);
                tokens[r + 5] = token;
                for (var i = 0; i < vocabulary; i++)
                {
                    logits[(r * vocabulary) + i] = (float)(random.NextDouble() * 14);
                }
                // A base that differs from the model by noise, so the divergences are not zero.
                var baseLogits = logits.AsSpan(r * vocabulary, vocabulary).ToArray().Select(l => l + (float)(random.NextDouble() - 0.5)).ToArray();
                CompressRow(baseLogits, baseRows.AsSpan(r * rowLength, rowLength), token);
                sequential.Add(logits.AsSpan(r * vocabulary, vocabulary), baseRows.AsSpan(r * rowLength, rowLength), token);
            }
            threaded.AddRows(pool, logits, vocabulary, baseRows, rowLength, tokens, 5, rows);
        }
        Assert.Equal(sequential.Count, threaded.Count);
        Assert.Equal(sequential.SameTop, threaded.SameTop);
        Assert.True(sequential.MeanKlDivergence > 1e-3, $"mean KLD {sequential.MeanKlDivergence} is too small to test anything");
        Assert.Equal(sequential.KlDivergences, threaded.KlDivergences);
        Assert.Equal(sequential.ProbabilityDifferences, threaded.ProbabilityDifferences);
        Assert.Equal(sequential.MeanKlDivergence, threaded.MeanKlDivergence);
        Assert.Equal(sequential.ModelPerplexity, threaded.ModelPerplexity);
        Assert.Equal(sequential.BasePerplexity, threaded.BasePerplexity);
        Assert.Equal(sequential.RmsProbabilityDifferenceValue, threaded.RmsProbabilityDifferenceValue);
        Assert.Equal(sequential.FormatChunkLine(3), threaded.FormatChunkLine(3));
        Assert.Equal(sequential.FormatReport(), threaded.FormatReport());
    }

    static double CompressRow(ReadOnlySpan<float> logits, Span<ushort> row, int token) => LogSoftmax.Compress(logits, row, token);

    static double ExactLogSoftmax(ReadOnlySpan<float> logits, int token)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }
        var sum = 0.0;
        foreach (var l in logits)
        {
            sum += Math.Exp(l - max);
        }
        return logits[token] - max - Math.Log(sum);
    }
}
