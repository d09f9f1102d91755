using System.Text.Json;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Evaluation;

/// <summary>
/// The inputs <c>eval</c>, <c>plan</c> and <c>optimize</c> take besides GGUF files: a stored model's name (the store's
/// model blob, as <c>run</c> resolves it) and a Hugging Face checkpoint folder (the trained tiny model's own folder,
/// seen through the converter).
/// </summary>
public sealed class ModelInputTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    [Fact]
    public void Plan_sizes_a_checkpoint_folder_as_the_file_quantize_writes_from_its_conversion()
    {
        // The fixture's README: the presets are quantize's files from the f32 conversion, which convert --type PRESET equals.
        var run = CliRunner.Run("plan", TinyTrainedModel.Directory, "--type", "Q4_K_M", "Q3_K_M", "--ctx", "512", "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Out);
        var presets = json.RootElement.GetProperty("presets").EnumerateArray().ToArray();
        Assert.Equal(new FileInfo(model.Path("Q4_K_M")).Length, presets[0].GetProperty("file_size").GetInt64());
        Assert.Equal(new FileInfo(model.Path("Q3_K_M")).Length, presets[1].GetProperty("file_size").GetInt64());
        // The same KV cache as for the GGUF file: 4 layers × 512 cells × (4 KV heads × 32) × K and V × f16.
        Assert.Equal(4L * 512 * 128 * 2 * 2, presets[0].GetProperty("kv_cache").GetInt64());
    }

    [Fact]
    public void Eval_takes_a_stored_model_by_name_and_a_checkpoint_folder_as_the_base()
    {
        var store = model.Scratch("store");
        var modelfile = model.Scratch("Modelfile");
        File.WriteAllText(modelfile, $"FROM {model.Path("Q4_K_M")}\n");
        var created = CliRunner.Run("create", "tiny-q4", "-f", modelfile, "--store", store);
        Assert.True(created.ExitCode == 0, created.Error);

        string[] common = ["-f", TinyTrainedModel.HeldOut, "-c", "256", "--chunks", "2", "-t", "2", "--pp", "0", "--tg", "0", "--json"];
        var byPath = CliRunner.Run(["eval", model.Path("bf16"), model.Path("Q4_K_M"), .. common]);
        Assert.True(byPath.ExitCode == 0, byPath.Error);
        // The checkpoint is BF16, so its conversion (--outtype auto) is the bf16 file, and the figures are the same.
        var byName = CliRunner.Run(["eval", TinyTrainedModel.Directory, "tiny-q4", "--store", store, .. common]);
        Assert.True(byName.ExitCode == 0, byName.Error);
        Assert.Contains("converting ", byName.Error, StringComparison.Ordinal);
        using var a = JsonDocument.Parse(byPath.Out);
        using var b = JsonDocument.Parse(byName.Out);
        var x = a.RootElement.GetProperty("candidates")[0];
        var y = b.RootElement.GetProperty("candidates")[0];
        Assert.Equal(x.GetProperty("size").GetInt64(), y.GetProperty("size").GetInt64());
        Assert.Equal(x.GetProperty("kld_mean").GetDouble(), y.GetProperty("kld_mean").GetDouble());
        Assert.Equal(a.RootElement.GetProperty("base").GetProperty("ppl").GetDouble(), b.RootElement.GetProperty("base").GetProperty("ppl").GetDouble());
        Assert.Equal(a.RootElement.GetProperty("base").GetProperty("size").GetInt64(), b.RootElement.GetProperty("base").GetProperty("size").GetInt64());

        var missing = CliRunner.Run(["eval", model.Path("bf16"), "no-such-model", "--store", store, .. common]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no-such-model: no such file", missing.Error, StringComparison.Ordinal);
    }
}
