using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;
using Xunit;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Evaluation;

/// <summary>
/// `quanta perplexity` against llama-perplexity's own output (Fixtures/runtime: -c 128 -t 2 on apache2.txt):
/// the f32 models' running and final perplexity within 0.01 %, and, with the base file our f32 run writes, the
/// q8_0 and Q4_K_M models' KL-divergence blocks within 3 % (to the printed precision) and the same-top count exactly.
/// </summary>
public sealed class PerplexityTests(GoldenModelFiles files, ITestOutputHelper output) : IClassFixture<GoldenModelFiles>
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "runtime", name);

    [Theory]
    [InlineData("llama")]
    [InlineData("gemma")]
    public void Perplexity_and_kl_divergence_match_llama_perplexity(string model)
    {
        var directory = Directory.CreateTempSubdirectory("quanta-ppl-");
        try
        {
            var basePath = Path.Combine(directory.FullName, $"{model}.f32.kld");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var f32 = files.Path(model, "f32");
            output.WriteLine($"{model}: model files {clock.Elapsed.TotalSeconds:F1} s");
            clock.Restart();
            var run = CliRunner.Run("perplexity", "-m", f32, "-f", Fixture("apache2.txt"), "-c", "128", "-t", "2", "--kl-divergence-base", basePath);
            Assert.True(run.ExitCode == 0, run.Error);
            output.WriteLine($"{model}: f32 perplexity {clock.Elapsed.TotalSeconds:F1} s");
            output.WriteLine(run.Out);
            var golden = File.ReadAllText(Fixture($"{model}.f32.perplexity.txt"));
            var expected = LlamaPerplexityOutput.Running(golden);
            var actual = LlamaPerplexityOutput.Running(run.Out);
            Assert.Equal(21, expected.Length);
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                LlamaPerplexityOutput.AssertRelative(expected[i], actual[i], 1e-4, $"{model} chunk {i + 1}");
            }
            var (expectedPpl, expectedUncertainty) = LlamaPerplexityOutput.Final(golden);
            var (actualPpl, actualUncertainty) = LlamaPerplexityOutput.Final(run.Out);
            LlamaPerplexityOutput.AssertRelative(expectedPpl, actualPpl, 1e-4, $"{model} final PPL");
            LlamaPerplexityOutput.AssertRelative(expectedUncertainty, actualUncertainty, 1e-3, $"{model} final uncertainty");

            foreach (var type in new[] { "q8_0", "q4km" })
            {
                var path = files.Path(model, type);
                clock.Restart();
                var kl = CliRunner.Run("perplexity", "-m", path, "--kl-divergence-base", basePath, "--kl-divergence", "-c", "128", "-t", "2");
                Assert.True(kl.ExitCode == 0, kl.Error);
                output.WriteLine($"{model}.{type}: KL divergence {clock.Elapsed.TotalSeconds:F1} s");
                output.WriteLine(kl.Out);
                LlamaPerplexityOutput.CompareStatistics(File.ReadAllText(Fixture($"{model}.{type}.kld.txt")), kl.Out, $"{model}.{type}", scoredPerChunk: 63);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Text_too_short_for_two_chunks_is_llama_perplexity_s_error_and_writes_no_base()
    {
        var directory = Directory.CreateTempSubdirectory("quanta-ppl-");
        try
        {
            var basePath = Path.Combine(directory.FullName, "base.kld");
            // apache2.txt is 2 688+ tokens: 2 × 2048 are needed with -c 2048.
            var run = CliRunner.Run("perplexity", "-m", files.Path("llama", "f32"), "-f", Fixture("apache2.txt"), "-c", "2048", "-t", "2", "--kl-divergence-base", basePath);
            Assert.Equal(2, run.ExitCode);
            Assert.Matches(@"^error: you need at least 4096 tokens to evaluate perplexity with a context of 2048; the data file you provided tokenizes to only \d+ tokens\n$", run.Error);
            Assert.Empty(Directory.GetFiles(directory.FullName));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(128, 1000, "inconsistent vocabulary (1000 in the base file vs 32000 in the model)")]
    [InlineData(256, 32000, "has been computed with a context of 256, while the current context is 128. Increase it with -c and retry")]
    public void Base_from_another_vocabulary_or_larger_context_is_refused(int context, int vocabulary, string message)
    {
        var directory = Directory.CreateTempSubdirectory("quanta-ppl-");
        try
        {
            var basePath = Path.Combine(directory.FullName, "base.kld");
            using (var stream = File.Create(basePath))
            {
                global::Quanta.Inference.Evaluation.KlDivergenceFile.WriteHeader(stream, context, vocabulary, 1, new int[context]);
                stream.Write(new byte[global::Quanta.Inference.Evaluation.KlDivergenceFile.ScoredPerChunk(context) * global::Quanta.Inference.Evaluation.KlDivergenceFile.RowLength(vocabulary) * 2]);
            }
            var run = CliRunner.Run("perplexity", "-m", files.Path("llama", "f32"), "--kl-divergence-base", basePath, "--kl-divergence", "-c", "128", "-t", "2");
            Assert.Equal(2, run.ExitCode);
            Assert.StartsWith("error: ", run.Error, StringComparison.Ordinal);
            Assert.Contains(message, run.Error, StringComparison.Ordinal);
            Assert.Equal(1, run.Error.Count(c => c == '\n'));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Kl_divergence_without_a_base_file_is_a_usage_error()
    {
        var run = CliRunner.Run("perplexity", "-m", "model.gguf", "--kl-divergence");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--kl-divergence needs --kl-divergence-base FILE", run.Error, StringComparison.Ordinal);
    }
}
