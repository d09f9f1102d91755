using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Evaluation;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Evaluation;

/// <summary>
/// <c>quanta eval</c> on the trained tiny Llama (f32 base, presets quantized from it) over heldout.txt's first two
/// chunks of 256 tokens (254 scored positions): every figure of its JSON against what llama-perplexity printed for
/// the same run (llama.cpp/heldout.c256.chunks2.*.kld.txt, made by <c>llama-perplexity -m tiny-TYPE.gguf
/// --kl-divergence-base f32.kld --kl-divergence -c 256</c> over the base written with <c>--chunks 2</c>; the
/// fixture's README), held to the tolerances <see cref="TinyTrainedPerplexityTests"/> explains; a base file
/// llama-perplexity wrote is read as it is; the per-tensor and per-layer views rank the presets as their bits do.
/// </summary>
public sealed class EvalCommandTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    const int ScoredPositions = 2 * (256 - 1 - 128);

    static readonly string[] CandidateKeys = ["file", "size", "bpw", "ppl", "ppl_ratio", "kld_mean", "kld_p99", "same_top_p", "rms_dp", "pp_tps", "tg_tps"];

    [Fact]
    public void Json_holds_llama_perplexity_s_figures_for_every_candidate()
    {
        string[] types = ["Q8_0", "Q4_K_M", "Q3_K_M"];
        var basePath = model.Scratch("eval-json.kld");
        var run = CliRunner.Run(["eval", model.Path("f32"), .. types.Select(model.Path), "-f", TinyTrainedModel.HeldOut, "-c", "256", "--chunks", "2",
            "-t", "2", "--pp", "0", "--tg", "0", "--kl-divergence-base", basePath, "--json"]);
        Assert.True(run.ExitCode == 0, run.Error);
        // stdout is the JSON and nothing else; progress went to stderr.
        using var json = JsonDocument.Parse(run.Out);
        Assert.Contains("base: ", run.Error, StringComparison.Ordinal);
        var root = json.RootElement;
        Assert.Equal(["base", "candidates"], root.EnumerateObject().Select(p => p.Name));
        var baseModel = root.GetProperty("base");
        Assert.Equal(new FileInfo(model.Path("f32")).Length, baseModel.GetProperty("size").GetInt64());
        Assert.Equal(32.0, baseModel.GetProperty("bpw").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, baseModel.GetProperty("pp_tps").ValueKind);

        var candidates = root.GetProperty("candidates").EnumerateArray().ToArray();
        Assert.Equal(types.Length, candidates.Length);
        for (var i = 0; i < types.Length; i++)
        {
            var c = candidates[i];
            var type = types[i];
            Assert.Equal(CandidateKeys, c.EnumerateObject().Select(p => p.Name));
            Assert.Equal(model.Path(type), c.GetProperty("file").GetString());
            Assert.Equal(new FileInfo(model.Path(type)).Length, c.GetProperty("size").GetInt64());
            var golden = File.ReadAllText(TinyTrainedModel.LlamaCpp($"heldout.c256.chunks2.{type}.kld.txt"));
            LlamaPerplexityOutput.AssertRelative(Statistic(golden, "Mean PPL(base)"), baseModel.GetProperty("ppl").GetDouble(), 1e-4, "base PPL");
            LlamaPerplexityOutput.AssertRelative(Statistic(golden, "Mean PPL(Q) "), c.GetProperty("ppl").GetDouble(), 1e-3, $"{type} PPL");
            AssertClose(Statistic(golden, "Mean PPL(Q)/PPL(base)"), c.GetProperty("ppl_ratio").GetDouble(), 0, 1e-3, $"{type} PPL ratio");
            AssertClose(Statistic(golden, "Mean    KLD"), c.GetProperty("kld_mean").GetDouble(), 0.03, 1.0001e-6, $"{type} mean KLD");
            AssertClose(Statistic(golden, "99.0%   KLD"), c.GetProperty("kld_p99").GetDouble(), 0.1, 2e-6, $"{type} KLD p99");
            AssertClose(Statistic(golden, "Same top p") / 100, c.GetProperty("same_top_p").GetDouble(), 0, 1.01 / ScoredPositions, $"{type} same top p");
            AssertClose(Statistic(golden, "RMS Δp") / 100, c.GetProperty("rms_dp").GetDouble(), 0.1, 1.0001e-5, $"{type} RMS Δp");
        }
        // The bits order the presets, and so must the KL divergence on a trained model.
        var kld = candidates.Select(c => c.GetProperty("kld_mean").GetDouble()).ToArray();
        Assert.True(kld[0] < kld[1] && kld[1] < kld[2], string.Join(", ", kld));
        var bpw = candidates.Select(c => c.GetProperty("bpw").GetDouble()).ToArray();
        Assert.True(bpw[0] > bpw[1] && bpw[1] > bpw[2], string.Join(", ", bpw));

        // The base file it wrote is reused without the text, and gives the same figures as perplexity's own report.
        var again = CliRunner.Run("eval", model.Path("f32"), model.Path("Q4_K_M"), "--kl-divergence-base", basePath, "--json", "--pp", "0", "--tg", "0", "-t", "2");
        Assert.True(again.ExitCode == 0, again.Error);
        using var reused = JsonDocument.Parse(again.Out);
        Assert.DoesNotContain("base: ", again.Error, StringComparison.Ordinal);
        var q4 = reused.RootElement.GetProperty("candidates")[0];
        Assert.Equal(candidates[1].GetProperty("kld_mean").GetDouble(), q4.GetProperty("kld_mean").GetDouble());
        // Reused, the base's perplexity comes from the file's uint16 log-probabilities (llama-perplexity's Mean PPL(base)), not from its logits.
        LlamaPerplexityOutput.AssertRelative(baseModel.GetProperty("ppl").GetDouble(), reused.RootElement.GetProperty("base").GetProperty("ppl").GetDouble(), 1e-5, "reused base PPL");
        var perplexity = CliRunner.Run("perplexity", "-m", model.Path("Q4_K_M"), "--kl-divergence-base", basePath, "--kl-divergence", "-c", "256", "-t", "2");
        Assert.True(perplexity.ExitCode == 0, perplexity.Error);
        Assert.Equal(Statistic(perplexity.Out, "Mean    KLD"), Math.Round(q4.GetProperty("kld_mean").GetDouble(), 6), 9);
        Assert.Equal(Statistic(perplexity.Out, "99.0%   KLD"), Math.Round(q4.GetProperty("kld_p99").GetDouble(), 6), 9);
        Assert.Equal(Statistic(perplexity.Out, "Same top p"), Math.Round(100 * q4.GetProperty("same_top_p").GetDouble(), 3), 9);
        Assert.Equal(Statistic(perplexity.Out, "RMS Δp"), Math.Round(100 * q4.GetProperty("rms_dp").GetDouble(), 3), 9);
        Assert.Equal(Statistic(perplexity.Out, "Mean PPL(Q) "), Math.Round(q4.GetProperty("ppl").GetDouble(), 6), 9);
    }

    [Fact]
    public void A_base_file_llama_perplexity_wrote_is_read()
    {
        // llama.cpp/kld-base.f32.c8.kld: llama-perplexity -m f32 -f heldout.txt -c 8 --chunks 2 --kl-divergence-base (see KlDivergenceInteropTests).
        var run = CliRunner.Run("eval", model.Path("f32"), model.Path("Q8_0"), model.Path("Q2_K"), "--kl-divergence-base", TinyTrainedModel.LlamaCpp("kld-base.f32.c8.kld"),
            "--json", "--pp", "0", "--tg", "0", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Out);
        var candidates = json.RootElement.GetProperty("candidates");
        foreach (var (type, i) in new[] { ("Q8_0", 0), ("Q2_K", 1) })
        {
            // The last chunk line holds the running figures over both chunks: PPL ±, ln ratio ±, KLD ±, Δp RMS ±, same top ±.
            var line = LastChunkLine(File.ReadAllText(TinyTrainedModel.LlamaCpp($"kld-base.{type}.c8.kld.txt")));
            var c = candidates[i];
            LlamaPerplexityOutput.AssertRelative(line[0], c.GetProperty("ppl").GetDouble(), 1e-3, $"{type} PPL");
            AssertClose(line[4], c.GetProperty("kld_mean").GetDouble(), 0.05, 2e-5, $"{type} KLD");
            AssertClose(line[8] / 100, c.GetProperty("same_top_p").GetDouble(), 0, 1.01 / 6, $"{type} same top p");
        }
    }

    [Fact]
    public void Tensor_and_layer_views_rank_the_presets_and_speed_is_measured()
    {
        var run = CliRunner.Run("eval", model.Path("f32"), model.Path("Q4_K_M"), model.Path("Q8_0"), "-f", TinyTrainedModel.HeldOut, "-c", "256", "--chunks", "1",
            "-t", "2", "--pp", "16", "--tg", "4", "--tensors", "--per-layer");
        Assert.True(run.ExitCode == 0, run.Error);
        var lines = run.Out.Split('\n');
        var rows = lines.Where(l => l.StartsWith("| tiny-", StringComparison.Ordinal) && !l.Contains("(base)", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, rows.Length);
        foreach (var row in rows.Append(lines.Single(l => l.Contains("(base)", StringComparison.Ordinal))))
        {
            // pp and tg rates are measured numbers.
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            Assert.True(double.Parse(cells[^3], CultureInfo.InvariantCulture) > 0, row);
            Assert.True(double.Parse(cells[^2], CultureInfo.InvariantCulture) > 0, row);
        }
        double TensorRmse(string file, string tensor) =>
            double.Parse(Section(run.Out, $"{file}: error of each tensor").Single(l => l.StartsWith($"| {tensor} ", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries)[3], CultureInfo.InvariantCulture);
        // Norms stay f32 (no error); the Q8_0 matrices are an order of magnitude closer than Q4_K's (8 vs 4.5 bits).
        Assert.Equal(0, TensorRmse("tiny-Q4_K_M.gguf", "blk.0.attn_norm.weight"));
        var q8File = Path.GetFileName(model.Path("Q8_0"));
        var q8 = TensorRmse(q8File, "blk.1.ffn_gate.weight");
        var q4 = TensorRmse("tiny-Q4_K_M.gguf", "blk.1.ffn_gate.weight");
        Assert.InRange(q8, 1e-4, 0.02);
        Assert.InRange(q4, 5 * q8, 0.2);

        double[] LayerKld(string file) => [.. Section(run.Out, $"{file}: mean KLD with only one layer")
            .Where(l => Regex.IsMatch(l, @"^\| \d+ \|")).Select(l => double.Parse(l.Split('|', StringSplitOptions.TrimEntries)[2], CultureInfo.InvariantCulture))];
        var layersQ4 = LayerKld("tiny-Q4_K_M.gguf");
        var layersQ8 = LayerKld(q8File);
        Assert.Equal(4, layersQ4.Length);
        Assert.Equal(4, layersQ8.Length);
        var wholeQ4 = double.Parse(rows[0].Split('|', StringSplitOptions.TrimEntries)[6], CultureInfo.InvariantCulture);
        for (var layer = 0; layer < 4; layer++)
        {
            // One layer quantized costs something, less than the whole model quantized, and Q8_0 costs less than Q4_K_M.
            Assert.InRange(layersQ4[layer], 1e-6, wholeQ4);
            Assert.True(layersQ8[layer] < layersQ4[layer], $"layer {layer}: Q8_0 {layersQ8[layer]} vs Q4_K_M {layersQ4[layer]}");
        }
    }

    [Fact]
    public void Bad_input_is_a_one_line_error()
    {
        var noText = CliRunner.Run("eval", model.Path("f32"), model.Path("Q8_0"));
        Assert.Equal(1, noText.ExitCode);
        Assert.Contains("-f FILE", noText.Error, StringComparison.Ordinal);
        var missing = CliRunner.Run("eval", model.Path("f32"), "/nonexistent/q.gguf", "-f", TinyTrainedModel.HeldOut);
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal(["error: /nonexistent/q.gguf: file not found"], missing.ErrorLines);
        var tooShort = model.Scratch("short.txt");
        File.WriteAllText(tooShort, "The package is short.\n");
        var shortRun = CliRunner.Run("eval", model.Path("f32"), model.Path("Q8_0"), "-f", tooShort, "-c", "256");
        Assert.Equal(2, shortRun.ExitCode);
        Assert.Contains("you need at least 512 tokens", shortRun.Error, StringComparison.Ordinal);
    }

    static IEnumerable<string> Section(string text, string heading) =>
        text.Split('\n').SkipWhile(l => !l.StartsWith(heading, StringComparison.Ordinal)).Skip(1).SkipWhile(l => l.Length == 0).TakeWhile(l => l.StartsWith('|'));

    static void AssertClose(double expected, double actual, double relative, double absolute, string what) =>
        Assert.True(Math.Abs(actual - expected) <= Math.Max(relative * Math.Abs(expected), absolute), $"{what}: {actual} vs llama-perplexity's {expected}");

    static double Statistic(string text, string label)
    {
        var line = text.Split('\n').First(l => l.StartsWith(label, StringComparison.Ordinal));
        return double.Parse(Regex.Match(line[label.Length..], @"-?\d+\.\d+").Value, CultureInfo.InvariantCulture);
    }

    static double[] LastChunkLine(string text)
    {
        var line = text.Split('\n').Last(l => Regex.IsMatch(l, @"^ +\d+ +\d+\.\d+ ± "));
        return [.. Regex.Matches(line, @"-?\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture))];
    }
}
