using Quanta.Conversion;
using Quanta.Demo;
using Quanta.Tests.Conversion.Tokenizers;
using Quanta.Tests.Inference.Models;
using Quanta.Formats.Gguf;

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
        Assert.Contains(lines, l => l.TrimStart().StartsWith("IQ2_XXS", StringComparison.Ordinal) && l.Contains("with --imatrix", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("IQ1_S", StringComparison.Ordinal) && l.Contains("with --imatrix", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("q4_K ", StringComparison.Ordinal) && l.Contains("read/write", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("nvfp4", StringComparison.Ordinal));
    }

    [Fact]
    public void Demo_ends_with_the_trained_model_s_greedy_text_as_llama_simple_prints_it()
    {
        var result = CliRunner.Run("demo", "--layers", "1", "--vocab", "256", "-t", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        // llama-simple -m tiny-llama-trained.Q8_0.gguf -n 16 "The package": the prompt's pieces (BOS shown as <s>),
        // then the text of its 16 greedy tokens.
        var simple = File.ReadAllText(Path.Combine(TinyTrainedModel.Directory, "llama.cpp", "llama-simple.Q8_0.the-package.n16.txt"));
        Assert.StartsWith("<s> The package", simple, StringComparison.Ordinal);
        Assert.EndsWith("\n\n" + simple["<s> ".Length..], result.Out, StringComparison.Ordinal);
        var trained = global::Quanta.Cli.Commands.DemoCommand.TrainedModelPath;
        Assert.Contains($"quanta complete -m {trained} -p \"The package\" -n 16 --temp 0", result.Out, StringComparison.Ordinal);
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
        using var dir = new TempDirectory();
        string[] args = ["demo", "--write-model", "", "--layers", "1", "--width", "64", "--ffn", "128", "--heads", "4", "--kv-heads", "1"];
        args[2] = dir.File("a.gguf");
        Assert.Equal(0, CliRunner.Run(args).ExitCode);
        args[2] = dir.File("b.gguf");
        Assert.Equal(0, CliRunner.Run([.. args, "--threads", "1"]).ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("a.gguf")), File.ReadAllBytes(dir.File("b.gguf")));
        using var file = GgufFile.Open(dir.File("a.gguf"));
        Assert.Equal(SyntheticLlamaModel.Tensors(new SyntheticLlamaShape(1, 64, 128, 4, 1, 32000)).Select(t => t.Name), file.Tensors.Select(t => t.Name));
        Assert.Equal([64L, 16], file.FindTensor("blk.0.attn_k.weight")!.Shape);
        var bad = CliRunner.Run("demo", "--write-model", dir.File("c.gguf"), "--heads", "3");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal(["error: not a valid llama shape: width 256 is not a multiple of the 3 heads"], bad.ErrorLines);
        Assert.Equal(["error: not a valid llama shape: 4 heads are not a multiple of the 3 KV heads"],
            CliRunner.Run("demo", "--write-checkpoint", dir.File("d"), "--kv-heads", "3").ErrorLines);
        Assert.False(Directory.Exists(dir.File("d")));
    }

    [Fact]
    public void A_written_demo_model_has_the_llama_2_tokenizer_keys_convert_hf_to_gguf_writes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("demo.gguf");
        var result = CliRunner.Run("demo", "--write-model", path, "--layers", "1", "--width", "64", "--ffn", "128");
        Assert.True(result.ExitCode == 0, result.Error);
        using var file = GgufFile.Open(path);
        // The oracle: convert_hf_to_gguf.py's tokenizer keys for a Llama 2 checkpoint with these tokenizer files.
        var expected = TokenizerImportGoldenTests.ExpectedTokenizerKeys("llama");
        var keys = file.Metadata.Where(k => k.Key.StartsWith("tokenizer.", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.Select(e => e.Key), keys.Select(k => k.Key));
        foreach (var ((key, want), (_, value)) in expected.Zip(keys))
        {
            Assert.True(want == TokenizerImportGoldenTests.Render(value), $"{key}: expected {want}, got {TokenizerImportGoldenTests.Render(value)}");
        }
        // Where the converter puts them: after the architecture's keys, just before the quantization version.
        Assert.Equal(GgufKeys.QuantizationVersion, file.Metadata[^1].Key);
        Assert.Equal("tokenizer.", file.Metadata[^2].Key[.."tokenizer.".Length]);
        Assert.Equal([64L, 32000], file.FindTensor("token_embd.weight")!.Shape);
        Assert.Equal(32000u, file.Metadata["llama.vocab_size"].AsUInt32());
        // And llama.cpp's loader finds every tensor it needs with the right shape.
        CheckpointShapeCheck.Verify(file.Metadata, file.Tensors.Select(t => new CheckpointShapeCheck.CheckedTensor(t.Name, t.Shape, null)), path);
    }

    [Fact]
    public void A_written_demo_checkpoint_carries_the_tokenizer_files_and_converts_with_them()
    {
        using var dir = new TempDirectory();
        var checkpoint = dir.File("ckpt");
        var write = CliRunner.Run("demo", "--write-checkpoint", checkpoint, "--layers", "1", "--width", "64", "--ffn", "128");
        Assert.True(write.ExitCode == 0, write.Error);
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer");
        foreach (var name in new[] { "tokenizer.model", "tokenizer.json", "tokenizer_config.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(fixtures, name)), File.ReadAllBytes(Path.Combine(checkpoint, name)));
        }
        var converted = dir.File("converted.gguf");
        var convert = CliRunner.Run("convert", checkpoint, "--type", "f16", "-o", converted);
        Assert.True(convert.ExitCode == 0, convert.Error);
        Assert.DoesNotContain("tokenizer", convert.Error, StringComparison.Ordinal);
        var model = dir.File("model.gguf");
        Assert.Equal(0, CliRunner.Run("demo", "--write-model", model, "--layers", "1", "--width", "64", "--ffn", "128").ExitCode);
        using var fromCheckpoint = GgufFile.Open(converted);
        using var written = GgufFile.Open(model);
        var tokenizerKeys = (GgufFile f) => f.Metadata.Where(k => k.Key.StartsWith("tokenizer.", StringComparison.Ordinal)).Select(k => (k.Key, TokenizerImportGoldenTests.Render(k.Value))).ToList();
        Assert.Equal(tokenizerKeys(fromCheckpoint), tokenizerKeys(written));
    }

    [Theory]
    [InlineData("--write-model", "m.gguf")]
    [InlineData("--write-checkpoint", "ckpt")]
    public void A_vocabulary_that_disagrees_with_the_tokenizer_is_refused(string option, string target)
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("demo", option, dir.File(target), "--vocab", "1024");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["error: --vocab 1024: a written demo model carries the Llama 2 tokenizer, which has 32000 tokens; leave --vocab out or give 32000"], result.ErrorLines);
        Assert.Empty(dir.List());
        Assert.Equal(0, CliRunner.Run("demo", option, dir.File(target), "--vocab", "32000", "--layers", "1", "--width", "32", "--ffn", "64").ExitCode);
    }
}
