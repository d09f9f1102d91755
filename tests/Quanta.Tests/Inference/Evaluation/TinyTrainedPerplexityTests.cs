using System.Globalization;
using System.Text.RegularExpressions;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Evaluation;

/// <summary>
/// The trained tiny Llama's perplexity figures, as llama-perplexity printed them (-c 256 on heldout.txt, KL
/// divergence against the f32 model's logits), on the text's first two chunks (254 scored positions) so that the
/// suite stays quick: the f32 model's running estimates within 0.01 % of the 86-chunk run the README quotes
/// (llama.cpp/heldout.f32.perplexity.txt) and its final estimate of the two-chunk run's; then, against the base
/// file that f32 run writes, every quantization's perplexity, mean KL divergence, same-top share and RMS Δp
/// against llama-perplexity's own two-chunk run (llama.cpp/heldout.c256.chunks2.*.kld.txt) and the first two chunk
/// lines of its 86-chunk run. The whole text (86 chunks, minutes per type) reproduces the README's table to 0.01 %
/// and 3 %: the fixture's README gives the command and the figures.
/// </summary>
public sealed class TinyTrainedPerplexityTests(TinyTrainedModel model, ITestOutputHelper output) : IClassFixture<TinyTrainedModel>
{
    const int Context = 256;
    const int Chunks = 2;
    const int ScoredPerChunk = Context - 1 - Context / 2;

    [Fact]
    public void F32_perplexity_is_llama_perplexity_s()
    {
        var (_, f32) = model.F32Base(Context, Chunks);
        output.WriteLine(f32);
        var full = LlamaPerplexityOutput.Running(File.ReadAllText(TinyTrainedModel.LlamaCpp("heldout.f32.perplexity.txt")));
        var twoChunks = File.ReadAllText(TinyTrainedModel.LlamaCpp("heldout.c256.chunks2.f32.perplexity.txt"));
        var running = LlamaPerplexityOutput.Running(f32);
        Assert.Equal(86, full.Length);
        Assert.Equal(Chunks, running.Length);
        for (var i = 0; i < Chunks; i++)
        {
            LlamaPerplexityOutput.AssertRelative(full[i], running[i], 1e-4, $"f32 chunk {i + 1}");
        }
        var (expectedPpl, expectedUncertainty) = LlamaPerplexityOutput.Final(twoChunks);
        var (actualPpl, actualUncertainty) = LlamaPerplexityOutput.Final(f32);
        LlamaPerplexityOutput.AssertRelative(expectedPpl, actualPpl, 1e-4, "f32 final PPL");
        LlamaPerplexityOutput.AssertRelative(expectedUncertainty, actualUncertainty, 1e-3, "f32 final uncertainty");
    }

    [Theory]
    [InlineData("bf16")]
    [InlineData("Q8_0")]
    [InlineData("Q6_K")]
    [InlineData("Q4_K_M")]
    [InlineData("Q4_0")]
    [InlineData("Q3_K_M")]
    [InlineData("Q2_K")]
    public void Kl_divergence_is_llama_perplexity_s(string type)
    {
        var (basePath, _) = model.F32Base(Context, Chunks);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = CliRunner.Run("perplexity", "-m", model.Path(type), "--kl-divergence-base", basePath, "--kl-divergence", "-c", "256", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        output.WriteLine($"{type}: {clock.Elapsed.TotalSeconds:F1} s\n{run.Out}");
        var golden = File.ReadAllText(TinyTrainedModel.LlamaCpp($"heldout.c256.chunks2.{type}.kld.txt"));
        var wholeText = File.ReadAllText(TinyTrainedModel.LlamaCpp($"heldout.{type}.kld.txt"));
        var ours = run.Out;

        // Over 254 positions llama.cpp does not repeat itself to 0.01 %: activations rounded to the weights'
        // vec_dot_type (bf16, Q8_0, Q8_K) turn float-order differences into whole rounding steps, and its run over
        // the whole text (8 chunks a batch) and its two-chunk run (2 a batch) differ by up to 0.05 % in a chunk's
        // perplexity (Q4_K_M, chunk 1). So the quantized model's perplexity is held to 0.1 % here, the f32 base's
        // to 0.01 %; the whole text brings both to 0.01 % (the fixture's README).
        foreach (var chunk in new[] { 1, 2 })
        {
            var line = ChunkLine(ours, chunk);
            LlamaPerplexityOutput.AssertRelative(ChunkLine(golden, chunk)[0], line[0], 1e-3, $"{type} chunk {chunk} PPL");
            LlamaPerplexityOutput.AssertRelative(ChunkLine(wholeText, chunk)[0], line[0], 1e-3, $"{type} chunk {chunk} PPL (whole-text run)");
            AssertClose(ChunkLine(golden, chunk)[4], line[4], 0.03, 1e-5, $"{type} chunk {chunk} mean KLD");
            AssertClose(ChunkLine(golden, chunk)[8], line[8], 0, 100.0 / (chunk * ScoredPerChunk) * 1.01, $"{type} chunk {chunk} same top p");
        }
        LlamaPerplexityOutput.AssertRelative(Statistic(golden, "Mean PPL(base)"), Statistic(ours, "Mean PPL(base)"), 1e-4, $"{type} PPL(base)");
        LlamaPerplexityOutput.AssertRelative(Statistic(golden, "Mean PPL(Q) "), Statistic(ours, "Mean PPL(Q) "), 1e-3, $"{type} PPL(Q)");
        // The KL divergence itself: its mean within 3 % (or a unit of the printed 1e-6, for bf16's 2e-6), the
        // top token the same but for one position; Δp, a difference of two probabilities, within 10 %.
        AssertClose(Statistic(golden, "Mean    KLD"), Statistic(ours, "Mean    KLD"), 0.03, 1.0001e-6, $"{type} mean KLD");
        AssertClose(Statistic(golden, "Same top p"), Statistic(ours, "Same top p"), 0, 100.0 / (Chunks * ScoredPerChunk) * 1.01, $"{type} same top p");
        AssertClose(Statistic(golden, "RMS Δp"), Statistic(ours, "RMS Δp"), 0.1, 1.0001e-3, $"{type} RMS Δp");
    }

    static void AssertClose(double expected, double actual, double relative, double absolute, string what) =>
        Assert.True(Math.Abs(actual - expected) <= Math.Max(relative * Math.Abs(expected), absolute), $"{what}: {actual} vs llama-perplexity's {expected}");

    /// <summary>The first number after <paramref name="label"/> at the start of a line of the statistics blocks.</summary>
    static double Statistic(string text, string label)
    {
        var line = text.Split('\n').First(l => l.StartsWith(label, StringComparison.Ordinal));
        return double.Parse(Regex.Match(line[label.Length..], @"-?\d+\.\d+").Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The numbers of chunk <paramref name="chunk"/>'s line: PPL ±, ln ratio ±, KLD ±, Δp RMS ±, same top ±.</summary>
    static double[] ChunkLine(string text, int chunk)
    {
        var line = text.Split('\n').First(l => Regex.IsMatch(l, $@"^ +{chunk} +\d+\.\d+ ± "));
        return [.. Regex.Matches(line, @"-?\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture))];
    }
}
