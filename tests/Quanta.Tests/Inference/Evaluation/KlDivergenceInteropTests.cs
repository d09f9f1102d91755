using System.Buffers.Binary;
using Quanta.Inference.Evaluation;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Inference.Evaluation;

/// <summary>
/// Base log-probability files cross between llama-perplexity and Quanta in both directions, on the trained tiny
/// Llama with -c 8 over two chunks (6 scored positions: a 384 KB file, small enough to ship):
/// <list type="bullet">
/// <item>llama.cpp/kld-base.f32.c8.kld, written by <c>llama-perplexity -m f32 -f heldout.txt -c 8 --chunks 2
/// --kl-divergence-base</c>, is read by <c>quanta perplexity --kl-divergence</c>, which prints what llama-perplexity
/// printed reading it (kld-base.&lt;type&gt;.c8.kld.txt);</item>
/// <item>the base Quanta writes for the same run is llama-perplexity's file: the same header and tokens byte for
/// byte, rows equal to a uint16 code; llama-perplexity read Quanta's file when the fixtures were made
/// (quanta-base.&lt;type&gt;.c8.kld.txt), and Quanta reading its own base prints the same.</item>
/// </list>
/// Below 100 scored positions llama-perplexity prints the per-chunk lines only, and so does Quanta.
/// </summary>
public sealed class KlDivergenceInteropTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    const int Context = 8;
    const int ScoredPerChunk = Context - 1 - Context / 2;

    [Theory]
    [InlineData("Q8_0")]
    [InlineData("Q2_K")]
    public void A_base_written_by_llama_perplexity_is_read(string type)
    {
        var kl = KlDivergence(type, TinyTrainedModel.LlamaCpp("kld-base.f32.c8.kld"));
        LlamaPerplexityOutput.CompareStatistics(File.ReadAllText(TinyTrainedModel.LlamaCpp($"kld-base.{type}.c8.kld.txt")), kl, type, ScoredPerChunk);
        Assert.DoesNotContain("====== Perplexity statistics", kl, StringComparison.Ordinal);
    }

    [Fact]
    public void A_base_written_by_quanta_is_llama_perplexity_s_file()
    {
        var ours = model.Scratch("quanta-f32.c8.kld");
        var run = CliRunner.Run("perplexity", "-m", model.Path("f32"), "-f", TinyTrainedModel.HeldOut, "-c", "8", "--chunks", "2", "-t", "2", "--kl-divergence-base", ours);
        Assert.True(run.ExitCode == 0, run.Error);
        var llamaRun = File.ReadAllText(TinyTrainedModel.LlamaCpp("kld-base.f32.c8.perplexity.txt"));
        Assert.Equal(LlamaPerplexityOutput.Running(llamaRun).Length, LlamaPerplexityOutput.Running(run.Out).Length);
        foreach (var (expected, actual) in LlamaPerplexityOutput.Running(llamaRun).Zip(LlamaPerplexityOutput.Running(run.Out)))
        {
            LlamaPerplexityOutput.AssertRelative(expected, actual, 1e-4, "running perplexity");
        }

        var a = File.ReadAllBytes(ours);
        var b = File.ReadAllBytes(TinyTrainedModel.LlamaCpp("kld-base.f32.c8.kld"));
        Assert.Equal(b.Length, a.Length);
        const int chunks = 2;
        var header = 20 + 4 * Context * chunks;
        Assert.True(a.AsSpan(0, header).SequenceEqual(b.AsSpan(0, header)), "magic, n_ctx, n_vocab, n_chunk and tokens differ from llama-perplexity's");
        var rowBytes = 2 * KlDivergenceFile.RowLength(32000);
        Assert.Equal(header + chunks * ScoredPerChunk * rowBytes, a.Length);
        var codes = 0;
        var moved = 0;
        for (var row = header; row < a.Length; row += rowBytes)
        {
            // scale and min_log_prob as floats, then one code per token (the padding slot is zero in both).
            Assert.Equal(BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(row)), BinaryPrimitives.ReadSingleLittleEndian(a.AsSpan(row)), 1e-6f * BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(row)));
            Assert.Equal(BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(row + 4)), BinaryPrimitives.ReadSingleLittleEndian(a.AsSpan(row + 4)), 1e-4f);
            for (var i = row + 8; i < row + rowBytes; i += 2)
            {
                var difference = Math.Abs(BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(i)) - BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(i)));
                Assert.True(difference <= 1, $"row at byte {row}: code at byte {i} differs by {difference}");
                codes++;
                moved += difference;
            }
        }
        // Our logits are llama.cpp's to float rounding, so a code moves only where its value sits on a rounding edge.
        Assert.True(moved < codes / 100, $"{moved} of {codes} codes differ from llama-perplexity's");

        foreach (var type in new[] { "Q8_0", "Q2_K" })
        {
            var kl = KlDivergence(type, ours);
            LlamaPerplexityOutput.CompareStatistics(File.ReadAllText(TinyTrainedModel.LlamaCpp($"quanta-base.{type}.c8.kld.txt")), kl, type + " on Quanta's base", ScoredPerChunk);
        }
    }

    string KlDivergence(string type, string basePath)
    {
        var run = CliRunner.Run("perplexity", "-m", model.Path(type), "--kl-divergence-base", basePath, "--kl-divergence", "-c", "8", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        return run.Out;
    }
}
