using Quanta.Demo;
using Quanta.Formats.Gguf;
using ScratchDirectory = Quanta.Tests.Formats.Gguf.TempDirectory;

namespace Quanta.Tests.Cli;

public class TypesAndDemoCommandTests
{
    [Fact]
    public void Types_lists_presets_with_published_figures_and_every_ggml_type()
    {
        var result = CliRunner.Run("types");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n');
        var q4km = Assert.Single(lines, l => l.TrimStart().StartsWith("Q4_K_M", StringComparison.Ordinal));
        Assert.Contains("4.58 GiB", q4km, StringComparison.Ordinal);
        Assert.Contains("+0.1755", q4km, StringComparison.Ordinal);
        Assert.Contains("0.031273", q4km, StringComparison.Ordinal);
        Assert.Contains("4.89", q4km, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("IQ2_XXS", StringComparison.Ordinal) && l.Contains("needs imatrix", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("q4_K ", StringComparison.Ordinal) && l.Contains("read/write", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("nvfp4", StringComparison.Ordinal));
    }

    [Fact]
    public void Demo_quantizes_a_synthetic_model_and_reports_errors_and_cleans_up()
    {
        var before = Directory.EnumerateDirectories(Path.GetTempPath(), "quanta-demo-*").ToHashSet();
        var result = CliRunner.Run("demo", "--layers", "2", "--vocab", "512");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Q4_K_M: error per tensor", result.Out, StringComparison.Ordinal);
        Assert.Contains("Q8_0: error per tensor", result.Out, StringComparison.Ordinal);
        Assert.Contains("quant size =", result.Out, StringComparison.Ordinal);
        Assert.Contains("Bits per weight:", result.Out, StringComparison.Ordinal);
        var after = Directory.EnumerateDirectories(Path.GetTempPath(), "quanta-demo-*").ToHashSet();
        Assert.Subset(before, after);
    }

    [Fact]
    public void Demo_can_write_just_the_model_in_any_shape_deterministically()
    {
        using var dir = new ScratchDirectory();
        string[] args = ["demo", "--write-model", "", "--layers", "1", "--width", "64", "--ffn", "128", "--heads", "4", "--kv-heads", "1", "--vocab", "32"];
        args[2] = dir.File("a.gguf");
        Assert.Equal(0, CliRunner.Run(args).ExitCode);
        args[2] = dir.File("b.gguf");
        Assert.Equal(0, CliRunner.Run([.. args, "--threads", "1"]).ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("a.gguf")), File.ReadAllBytes(dir.File("b.gguf")));
        using var file = GgufFile.Open(dir.File("a.gguf"));
        Assert.Equal(SyntheticLlamaModel.Tensors(new SyntheticLlamaShape(1, 64, 128, 4, 1, 32)).Select(t => t.Name), file.Tensors.Select(t => t.Name));
        Assert.Equal([64L, 16], file.FindTensor("blk.0.attn_k.weight")!.Shape);
        Assert.NotEqual(0, CliRunner.Run("demo", "--write-model", dir.File("c.gguf"), "--heads", "3").ExitCode);
    }
}
