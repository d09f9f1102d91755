using System.Text;
using System.Text.Json;
using Quanta.Evaluation;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Evaluation;

/// <summary>
/// <c>quanta optimize</c> on the trained tiny Llama (f32 base; the presets quantized from it as
/// <see cref="TinyTrainedModel"/> makes them): heldout.txt is cut in two at a line break, the sensitivities are
/// measured on the first part, and <c>quanta eval</c> scores the mixes on the second part beside Q4_K_M and
/// Q3_K_M: each mix is no larger than its preset and has a lower mean KL divergence. bench/README.md's table is
/// the same measurement with every candidate type and more chunks.
/// </summary>
public sealed class OptimizeCommandTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    static readonly GgmlType[] TestTypes = [GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    (string Calibration, string HeldOut) SplitText()
    {
        var text = File.ReadAllBytes(TinyTrainedModel.HeldOut);
        var cut = Array.IndexOf(text, (byte)'\n', text.Length / 2) + 1;
        var calibration = model.Scratch("calibration.txt");
        var heldOut = model.Scratch("held-out.txt");
        File.WriteAllBytes(calibration, text[..cut]);
        File.WriteAllBytes(heldOut, text[cut..]);
        return (calibration, heldOut);
    }

    [Fact]
    public void Mixes_beat_Q4_K_M_and_Q3_K_M_at_their_sizes_on_text_they_were_not_tuned_on_and_quantize_remakes_them()
    {
        var (calibration, heldOut) = SplitText();
        var f32 = model.Path("f32");
        var options = new OptimizeOptions { Types = TestTypes, Context = 256, MaxChunks = 2, Threads = 2, ScratchDirectory = model.Scratch("") };
        var sensitivity = MixOptimizer.Measure(f32, File.ReadAllBytes(calibration), options);
        Assert.Equal(9, sensitivity.Groups.Count); // token_embd (tied: also the output), then attention and FFN of 4 blocks
        Assert.Equal("token_embd", sensitivity.Groups[0].Name);
        Assert.Equal(["blk.0.attn_k.weight", "blk.0.attn_output.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight"], sensitivity.Groups[1].Tensors);
        foreach (var measured in sensitivity.Measurements)
        {
            // More bits, less divergence, group by group (q3_K → q6_K).
            Assert.True(measured[0].MeanKlDivergence > measured[3].MeanKlDivergence, string.Join(", ", measured));
            Assert.True(measured[0].Bytes < measured[1].Bytes && measured[1].Bytes < measured[2].Bytes && measured[2].Bytes < measured[3].Bytes);
        }

        var presets = new[] { "Q4_K_M", "Q3_K_M" };
        var mixes = presets.Select(p =>
        {
            var path = model.Scratch($"optimized-{p}.gguf");
            var result = MixOptimizer.Write(f32, sensitivity, new SizeBudget.FileBytes(new FileInfo(model.Path(p)).Length), path, options);
            Assert.Equal(new FileInfo(path).Length, result.FileSize);
            return path;
        }).ToArray();

        var run = CliRunner.Run(["eval", f32, .. presets.Select(model.Path), .. mixes, "-f", heldOut, "-c", "256", "--chunks", "4", "-t", "2", "--pp", "0", "--tg", "0", "--json"]);
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Out);
        var candidates = json.RootElement.GetProperty("candidates").EnumerateArray().ToArray();
        var report = string.Join("; ", candidates.Select(c => $"{Path.GetFileName(c.GetProperty("file").GetString())} {c.GetProperty("size").GetInt64()} B KLD {c.GetProperty("kld_mean").GetDouble():F6}"));
        for (var i = 0; i < presets.Length; i++)
        {
            var preset = candidates[i];
            var mix = candidates[presets.Length + i];
            Assert.True(mix.GetProperty("size").GetInt64() <= preset.GetProperty("size").GetInt64(), report);
            Assert.True(mix.GetProperty("kld_mean").GetDouble() < preset.GetProperty("kld_mean").GetDouble(), report);
        }

        // The recipe in the file is what quantize needs to write the same bytes.
        using (var written = GgufFile.Open(mixes[0]))
        {
            var recipe = MixRecipe.Read(written.Metadata)!;
            Assert.Equal(9, recipe.Rules.Count);
            Assert.Equal(@"^token_embd\.weight$", recipe.Rules[0].Pattern);
            var again = model.Scratch("remade.gguf");
            var quantize = CliRunner.Run("quantize", f32, again, recipe.Preset, "--tensor-type-file", mixes[0], "2");
            Assert.True(quantize.ExitCode == 0, quantize.Error);
            Assert.Equal(File.ReadAllBytes(mixes[0]), File.ReadAllBytes(again));
            // The same rules from a text file give the same tensors; only the recipe keys are missing.
            var rules = model.Scratch("rules.txt");
            File.WriteAllText(rules, recipe.RulesText.Replace(' ', '\n'));
            var plain = model.Scratch("plain.gguf");
            Assert.Equal(0, CliRunner.Run("quantize", f32, plain, recipe.Preset, "--tensor-type-file", rules, "2").ExitCode);
            using var plainFile = GgufFile.Open(plain);
            Assert.Null(MixRecipe.Read(plainFile.Metadata));
            Assert.Equal(written.Tensors.Select(t => (t.Name, t.Type)), plainFile.Tensors.Select(t => (t.Name, t.Type)));
            Assert.True(written.Tensors.Zip(plainFile.Tensors).All(p => p.First.Data.SequenceEqual(p.Second.Data)));
        }
    }

    [Fact]
    public void The_command_writes_a_mix_within_the_size_and_refuses_bad_budgets()
    {
        var (calibration, _) = SplitText();
        var f32 = model.Path("f32");
        var output = model.Scratch("cli-optimized.gguf");
        var q4 = new FileInfo(model.Path("Q4_K_M")).Length;
        var run = CliRunner.Run("optimize", f32, "-f", calibration, "--size", q4.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", output,
            "--types", "q4_K,q8_0", "-c", "64", "--chunks", "1", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.True(new FileInfo(output).Length <= q4);
        Assert.Contains("| token_embd | 1 |", run.Out, StringComparison.Ordinal);
        Assert.Contains($"--tensor-type-file {output}", run.Out, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(output)!, ".quanta-optimize-*"));
        using (var file = GgufFile.Open(output))
        {
            var recipe = MixRecipe.Read(file.Metadata)!;
            // q8_0 everywhere is larger than Q4_K_M, so some groups are q4_K and the rest q8_0.
            Assert.Contains(recipe.Rules, r => r.Type == GgmlType.Q4_K);
            Assert.Contains(recipe.Rules, r => r.Type == GgmlType.Q8_0);
        }

        var both = CliRunner.Run("optimize", f32, "-f", calibration, "--size", "8M", "--bpw", "5", "-o", output);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("either --size SIZE or --bpw X", both.Error, StringComparison.Ordinal);
        var tooSmall = CliRunner.Run("optimize", f32, "-f", calibration, "--bpw", "2", "-o", model.Scratch("never.gguf"), "--types", "q4_K", "-c", "64", "--chunks", "1", "-t", "2");
        Assert.Equal(2, tooSmall.ExitCode);
        Assert.Contains("below the smallest assignment", tooSmall.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(model.Scratch("never.gguf")));
        var notRecipe = CliRunner.Run("quantize", f32, model.Scratch("x.gguf"), "Q4_K_M", "--tensor-type-file", model.Path("Q3_K_M"));
        Assert.Equal(2, notRecipe.ExitCode);
        Assert.Contains("without a type assignment", notRecipe.Error, StringComparison.Ordinal);
    }
}
