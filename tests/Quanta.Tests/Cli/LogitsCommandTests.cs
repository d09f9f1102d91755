using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Cli;
using Quanta.Tests.Inference.Models;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary><c>quanta logits</c>: the golden llama Q8_0 file's logits as llama.cpp wrote them, and its errors.</summary>
public sealed class LogitsCommandTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>
{
    [Fact]
    public void Writes_the_logits_and_tokens_llama_cpp_wrote()
    {
        using var dir = new TempDirectory();
        var reference = GoldenLogitsTests.Reference.Load("llama", "q8_0");
        var tokens = dir.File("prompt.json");
        File.WriteAllText(tokens, JsonSerializer.Serialize(new { tokens = reference.Tokens }));
        var output = dir.File("out.f32");
        var tokensOut = dir.File("tokens.json");

        var result = CliRunner.Run("logits", "-m", files.Path("llama", "q8_0"), "--tokens", tokens, "-o", output, "--tokens-out", tokensOut, "-t", "2");

        Assert.True(result.ExitCode == 0, result.Error);
        var logits = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(output));
        Assert.Equal(reference.Tokens.Length * reference.VocabularySize, logits.Length);
        for (var r = 0; r < reference.RowPositions.Length; r++)
        {
            // llama.cpp's Q8_0 logits, bit for bit.
            Assert.Equal(
                reference.Rows.AsSpan(r * reference.VocabularySize, reference.VocabularySize).ToArray(),
                logits.Slice(reference.RowPositions[r] * reference.VocabularySize, reference.VocabularySize).ToArray());
        }
        using var written = JsonDocument.Parse(File.ReadAllText(tokensOut));
        Assert.Equal(32000, written.RootElement.GetProperty("n_vocab").GetInt32());
        Assert.Equal(reference.Tokens, written.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(["out.f32", "prompt.json", "tokens.json"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Micro_batches_give_the_same_logits_llama_cpp_wrote()
    {
        using var dir = new TempDirectory();
        var reference = GoldenLogitsTests.Reference.Load("llama", "q8_0");
        var tokens = dir.File("prompt.json");
        File.WriteAllText(tokens, JsonSerializer.Serialize(new { tokens = reference.Tokens }));
        var output = dir.File("out.f32");

        // Pieces of 5 tokens (-ub 5 under -b 8): the prompt goes through the KV cache piece by piece.
        var result = CliRunner.Run("logits", "-m", files.Path("llama", "q8_0"), "--tokens", tokens, "-o", output, "-t", "2", "-b", "8", "-ub", "5");

        Assert.True(result.ExitCode == 0, result.Error);
        var logits = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(output));
        for (var r = 0; r < reference.RowPositions.Length; r++)
        {
            Assert.Equal(
                reference.Rows.AsSpan(r * reference.VocabularySize, reference.VocabularySize).ToArray(),
                logits.Slice(reference.RowPositions[r] * reference.VocabularySize, reference.VocabularySize).ToArray());
        }
    }

    [Fact]
    public void A_text_gives_llama_cpp_s_tokens_and_the_logits_of_those_tokens()
    {
        using var dir = new TempDirectory();
        var reference = GoldenLogitsTests.Reference.Load("llama", "q8_0");
        var tokens = dir.File("prompt.json");
        File.WriteAllText(tokens, JsonSerializer.Serialize(new { tokens = reference.Tokens }));
        var model = files.Path("llama", "q8_0");

        var fromText = CliRunner.Run("logits", "-m", model, "-f", Path.Combine(GoldenLogitsTests.Reference.Directory, "prompt.txt"),
            "-o", dir.File("text.f32"), "--tokens-out", dir.File("text.json"), "-t", "2");
        var fromTokens = CliRunner.Run("logits", "-m", model, "--tokens", tokens, "-o", dir.File("tokens.f32"), "-t", "2");

        Assert.True(fromText.ExitCode == 0, fromText.Error);
        Assert.True(fromTokens.ExitCode == 0, fromTokens.Error);
        using var written = JsonDocument.Parse(File.ReadAllText(dir.File("text.json")));
        Assert.Equal(reference.Tokens, written.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(File.ReadAllBytes(dir.File("tokens.f32")), File.ReadAllBytes(dir.File("text.f32")));
    }

    [Fact]
    public void Needs_exactly_one_of_text_and_tokens()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("logits", "-m", "model.gguf", "-o", dir.File("out.f32"));
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--tokens", result.ErrorLines[0], StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.f32")));
    }

    [Fact]
    public void Bad_token_file_and_unsupported_model_are_one_line_errors()
    {
        using var dir = new TempDirectory();
        var tokens = dir.File("prompt.json");
        File.WriteAllText(tokens, "{\"tokens\": [1, \"two\"]}");
        var result = CliRunner.Run("logits", "-m", files.Path("llama", "q8_0"), "--tokens", tokens, "-o", dir.File("out.f32"));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.StartsWith("error: ", Assert.Single(result.ErrorLines), StringComparison.Ordinal);

        File.WriteAllText(tokens, "{\"tokens\": [1, 40000]}");
        result = CliRunner.Run("logits", "-m", files.Path("llama", "q8_0"), "--tokens", tokens, "-o", dir.File("out.f32"));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("outside the model's vocabulary", Assert.Single(result.ErrorLines), StringComparison.Ordinal);

        // The synthetic F16 test model runs too (F16 weights), and no temporary file is left beside the output.
        File.WriteAllText(tokens, "{\"tokens\": [1, 2]}");
        result = CliRunner.Run("logits", "-m", CliRunner.TinyModel, "--tokens", tokens, "-o", dir.File("out.f32"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.False(File.Exists(dir.File(".out.f32.tmp")));
    }
}
