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
