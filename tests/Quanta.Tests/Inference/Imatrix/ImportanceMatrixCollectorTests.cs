using Quanta.Formats.Imatrix;
using Quanta.Inference.Imatrix;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Imatrix;

/// <summary>
/// The collector's rules from llama-imatrix's <c>collect_imatrix</c> that the golden runs do not reach: batches
/// under 16 tokens and weights outside the blocks are ignored, and a <c>MUL_MAT_ID</c> counts each token for the
/// experts it was routed to (the sums below are llama.cpp's loop done by hand).
/// </summary>
public sealed class ImportanceMatrixCollectorTests
{
    [Fact]
    public void Small_batches_and_weights_outside_the_blocks_are_not_collected()
    {
        var matrix = new ImportanceMatrix(512);
        var collector = new ImportanceMatrixCollector(matrix, processOutput: false);
        var x = Enumerable.Range(0, 16 * 4).Select(i => (float)i).ToArray();
        collector.Observe("blk.0.attn_q.weight", x.AsSpan(0, 15 * 4), 15, 4);
        collector.Observe("output.weight", x, 16, 4);
        collector.Observe("token_embd.weight", x, 16, 4);
        Assert.Equal(0, matrix.Count);
        collector.Observe("blk.0.attn_q.weight", x, 16, 4);
        var entry = Assert.Single(matrix.Entries);
        Assert.Equal(1, entry.Calls);
        Assert.Equal([16L], entry.Counts);
        // Column 0 sees 0, 4, 8, ..., 60.
        Assert.Equal(Enumerable.Range(0, 16).Sum(t => (float)(4 * t) * (4 * t)), entry.SquaredSums[0]);
        Assert.Equal(Enumerable.Range(0, 16).Sum(t => (float)(4 * t)), entry.Sums![0]);
        Assert.True(new ImportanceMatrixCollector(matrix, processOutput: true).Collects("output.weight", 16));
    }

    [Fact]
    public void Routed_tokens_count_for_their_experts_only()
    {
        var matrix = new ImportanceMatrix(512);
        var collector = new ImportanceMatrixCollector(matrix, processOutput: false);
        // 3 tokens, 2 columns, one activation row per token shared by its 2 selected experts (of 3).
        float[] x = [1, 2, 3, 4, 5, 6];
        int[] selected = [0, 2, 2, 1, 0, 2];
        collector.ObserveExperts("blk.0.ffn_up_exps.weight", 3, 2, x, rowsPerToken: 1, selected, expertsPerToken: 2);
        var entry = Assert.Single(matrix.Entries);
        Assert.Equal(3, entry.MatrixCount);
        Assert.Equal([2L, 1, 3], entry.Counts);
        Assert.Equal([1 + 25f, 4 + 36, 9, 16, 1 + 9 + 25, 4 + 16 + 36], entry.SquaredSums);
        Assert.Equal(1, entry.Calls);
    }

    /// <summary>
    /// llama-imatrix's rule (2026 <c>collect_imatrix</c>): when a weight's count first reaches a new whole chunk n,
    /// the output file is saved if n % output_frequency == 0 and a copy if n % save_frequency == 0, at that weight,
    /// before the weights after it see the chunk; a batch spanning several chunks saves when one of them is due.
    /// </summary>
    [Fact]
    public void Saves_as_it_goes_where_llama_imatrix_does()
    {
        var matrix = new ImportanceMatrix(16);
        var saves = new List<(int? Chunk, int ChunkCount, long QCount, long KCount)>();
        var collector = new ImportanceMatrixCollector(matrix, processOutput: false)
        {
            OutputFrequency = 3,
            SaveFrequency = 2,
            Save = chunk => saves.Add((chunk, matrix.ChunkCount, matrix.Find("blk.0.attn_q.weight")!.Counts[0],
                matrix.Find("blk.0.attn_k.weight")?.Counts[0] ?? 0)),
        };
        var x = new float[32 * 2];
        for (var chunk = 1; chunk <= 6; chunk++)
        {
            collector.Observe("blk.0.attn_q.weight", x.AsSpan(0, 16 * 2), 16, 2);
            collector.Observe("blk.0.attn_k.weight", x.AsSpan(0, 16 * 2), 16, 2);
        }
        // The attn_k count at each save is the chunk before: the save happens at attn_q.
        (int?, int, long, long)[] expected = [(2, 2, 32, 16), (null, 3, 48, 32), (4, 4, 64, 48), (null, 6, 96, 80), (6, 6, 96, 80)];
        Assert.Equal(expected, saves);
        Assert.Equal(6, collector.LastChunk);

        // Two chunks in one call (7 and 8): (8 % 3) / 2 == 1, no output; (8 % 2) / 2 == 0, a copy at 8.
        saves.Clear();
        collector.Observe("blk.0.attn_q.weight", x, 32, 2);
        (int?, int, long, long)[] two = [(8, 8, 128, 96)];
        Assert.Equal(two, saves);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImportanceMatrixCollector(matrix, false) { OutputFrequency = 0 });
    }

    /// <summary>A merged matrix starts counting from its own chunks, as llama-imatrix's m_last_chunk does after --in-file.</summary>
    [Fact]
    public void A_merged_matrix_continues_from_its_chunk_count()
    {
        var matrix = new ImportanceMatrix(16);
        matrix.Add(new ImportanceMatrixEntry("blk.0.attn_q.weight", new float[2], [48]));
        var saves = new List<int?>();
        var collector = new ImportanceMatrixCollector(matrix, processOutput: false) { OutputFrequency = 4, Save = saves.Add };
        Assert.Equal(3, collector.LastChunk);
        collector.Observe("blk.0.attn_q.weight", new float[16 * 2], 16, 2);
        int?[] expected = [null];
        Assert.Equal(expected, saves);
    }

    [Fact]
    public void The_observer_sees_every_multiplication_inside_its_scope_only()
    {
        var seen = new List<string>();
        var observer = new RecordingObserver(seen);
        using var file = Quanta.Formats.Gguf.GgufFile.Open(Quanta.Tests.Cli.CliRunner.TinyModel);
        using var model = Quanta.Inference.Models.LlamaModel.Load(file, 1);
        int[] tokens = [1, 5, 9, 30];
        var logits = new float[tokens.Length * model.VocabularySize];
        using (ActivationObservation.Begin(observer))
        {
            model.Evaluate(tokens, logits);
        }
        model.Evaluate(tokens, logits);
        // Per layer q, k, v, output, gate, up, down, then the output matrix: once each, in the forward pass's order.
        string[] layer = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];
        Assert.Equal([.. Enumerable.Range(0, 4).SelectMany(l => layer.Select(w => $"blk.{l}.{w}.weight")), "output.weight"], seen);
        Assert.Null(ActivationObservation.Current);
    }

    sealed class RecordingObserver(List<string> seen) : IActivationObserver
    {
        public void Observe(string weightName, ReadOnlySpan<float> activations, int tokens, int columns) => seen.Add(weightName);
    }
}
