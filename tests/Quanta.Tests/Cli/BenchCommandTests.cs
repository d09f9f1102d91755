using System.Text.Json;
using Quanta.Cli.Commands;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>quanta bench</c> on the tiny F16 fixture: llama-bench's table and JSON fields, with the values llama-bench
/// (llama.cpp build 4748) printed for the same file and options (<c>-p 8 -n 2 -t 2</c>), and its errors.
/// </summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void Json_has_llama_bench_s_fields_and_values()
    {
        var result = CliRunner.Run("bench", "-m", CliRunner.TinyModel, "-p", "8", "-n", "2", "-t", "2", "-r", "2", "-o", "json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Out);
        var tests = document.RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, tests.Length);
        foreach (var (test, prompt, generated) in new[] { (tests[0], 8, 0), (tests[1], 0, 2) })
        {
            // llama-bench -o json on this file: "model_type": "llama ?B F16", "model_size": 6824960, "model_n_params": 3410176.
            Assert.Equal("llama ?B F16", test.GetProperty("model_type").GetString());
            Assert.Equal(6824960, test.GetProperty("model_size").GetInt64());
            Assert.Equal(3410176, test.GetProperty("model_n_params").GetInt64());
            Assert.Equal(prompt, test.GetProperty("n_prompt").GetInt32());
            Assert.Equal(generated, test.GetProperty("n_gen").GetInt32());
            Assert.Equal(2, test.GetProperty("n_threads").GetInt32());
            Assert.Equal(2048, test.GetProperty("n_batch").GetInt32());
            Assert.Equal(512, test.GetProperty("n_ubatch").GetInt32());
            Assert.Equal("f16", test.GetProperty("type_k").GetString());
            var samples = test.GetProperty("samples_ns").EnumerateArray().Select(s => s.GetInt64()).ToArray();
            var rates = test.GetProperty("samples_ts").EnumerateArray().Select(s => s.GetDouble()).ToArray();
            Assert.Equal(2, samples.Length);
            Assert.All(samples, s => Assert.True(s > 0));
            // samples_ts = 1e9·(n_prompt + n_gen) / samples_ns; avg_ts their mean.
            for (var i = 0; i < samples.Length; i++)
            {
                Assert.Equal(1e9 * (prompt + generated) / samples[i], rates[i], 6);
            }
            Assert.Equal(rates.Average(), test.GetProperty("avg_ts").GetDouble(), 6);
        }
    }

    [Fact]
    public void The_table_is_llama_bench_s()
    {
        var result = CliRunner.Run("bench", "-m", CliRunner.TinyModel, "-p", "8", "-n", "0", "-t", "2", "-r", "1");

        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Out.Split('\n');
        // llama-bench's header and the row it printed for this file (its rate aside).
        Assert.Equal("| model                          |       size |     params | backend    | threads |          test |                  t/s |", lines[0]);
        Assert.Equal("| ------------------------------ | ---------: | ---------: | ---------- | ------: | ------------: | -------------------: |", lines[1]);
        Assert.StartsWith("| llama ?B F16                   |   6.51 MiB |     3.41 M | CPU        |       2 |           pp8 | ", lines[2], StringComparison.Ordinal);
        Assert.Matches(@"\|\s+\d+\.\d\d ± 0\.00 \|$", lines[2]);
        Assert.Equal("", lines[3]);
        Assert.StartsWith("build: quanta ", lines[4], StringComparison.Ordinal);
    }

    [Fact]
    public void Statistics_are_llama_bench_s_mean_and_sample_deviation()
    {
        // llama-bench's stdev: sqrt(Σx²/(n−1) − mean²·n/(n−1)); 0 for a single sample.
        var (average, deviation) = BenchCommand.Statistics([10, 12, 17]);
        Assert.Equal(13, average, 12);
        Assert.Equal(Math.Sqrt(13), deviation, 12);
        Assert.Equal((5.0, 0.0), BenchCommand.Statistics([5]));
    }

    [Theory]
    [InlineData(1, "-r", "0")]
    [InlineData(1, "-p", "12x")]
    [InlineData(1, "-ub", "0")]
    [InlineData(1, "-o", "csv")]
    public void Bad_options_are_usage_errors(int exitCode, string option, string value)
    {
        var result = CliRunner.Run("bench", "-m", CliRunner.TinyModel, option, value);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.StartsWith("error: ", result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_model_is_bad_input()
    {
        var result = CliRunner.Run("bench", "-m", "/nonexistent/model.gguf", "-p", "8", "-n", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["error: /nonexistent/model.gguf: file not found"], result.ErrorLines);
        Assert.Equal("", result.Out);
    }
}
