using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Quanta.Cli;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Sampling;
using Quanta.Inference.Tokenizers;
using Quanta.Tests.Inference.Models;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>quanta complete</c> on the golden llama Q8_0 file: the prompt tokens llama.cpp made, greedy tokens that are
/// the argmax of llama.cpp's logits and of <c>quanta logits</c> over the whole sequence, seeded sampling that
/// repeats and is the library's llama-cli chain, the streamed text, and its errors.
/// </summary>
public sealed partial class CompleteCommandTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>
{
    static string PromptFile => Path.Combine(GoldenLogitsTests.Reference.Directory, "prompt.txt");

    [Fact]
    public void Greedy_tokens_are_the_argmax_of_the_logits_of_the_whole_sequence()
    {
        var reference = GoldenLogitsTests.Reference.Load("llama", "q8_0");
        var model = files.Path("llama", "q8_0");
        var result = CliRunner.Run("complete", "-m", model, "-f", PromptFile, "--temp", "0", "-n", "8", "--ids", "-t", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        var (prompt, generated) = ParseIds(result.Out);
        Assert.Equal(reference.Tokens, prompt);
        Assert.Equal(8, generated.Length);
        // The first token is llama.cpp's own argmax after the prompt.
        Assert.Equal(reference.Top[^1][0].Id, generated[0]);

        // quanta logits over prompt + generated in one batch: row p predicts the token at p + 1.
        using var dir = new TempDirectory();
        var tokens = dir.File("sequence.json");
        File.WriteAllText(tokens, JsonSerializer.Serialize(new { tokens = prompt.Concat(generated[..^1]).ToArray() }));
        var logits = CliRunner.Run("logits", "-m", model, "--tokens", tokens, "-o", dir.File("out.f32"), "-t", "2");
        Assert.True(logits.ExitCode == 0, logits.Error);
        var rows = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(dir.File("out.f32"))).ToArray();
        for (var i = 0; i < generated.Length; i++)
        {
            var row = rows.AsSpan((prompt.Length - 1 + i) * reference.VocabularySize, reference.VocabularySize);
            Assert.Equal(ArgMax(row), generated[i]);
        }
    }

    [Fact]
    public void A_fixed_seed_repeats_and_samples_as_llama_cli_s_chain()
    {
        var model = files.Path("llama", "q8_0");
        string[] Args(string seed) => ["complete", "-m", model, "-f", PromptFile, "--seed", seed, "--temp", "1.5", "-n", "12", "--ids", "-t", "2"];
        var first = CliRunner.Run(Args("42"));
        var again = CliRunner.Run(Args("42"));
        var other = CliRunner.Run(Args("43"));
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(first.Out, again.Out);
        Assert.NotEqual(ParseIds(first.Out).Generated, ParseIds(other.Out).Generated);

        // The same tokens from the library's llama-cli chain (tested against llama.cpp's samplers) over the
        // model's logits: llama-cli's defaults but the temperature, the prompt accepted before the first draw.
        var (prompt, generated) = ParseIds(first.Out);
        using var file = GgufFile.Open(model);
        using var llama = LlamaModel.Load(file, threads: 2);
        var chain = SamplerChainBuilder.Build(SamplingParameters.LlamaCli with { Seed = 42, Temperature = 1.5f }, llama.VocabularySize, 4096);
        foreach (var token in prompt)
        {
            chain.Accept(token);
        }
        var sequence = prompt.ToList();
        var expected = new List<int>();
        while (expected.Count < generated.Length)
        {
            var logits = new float[sequence.Count * llama.VocabularySize];
            llama.Evaluate(sequence.ToArray(), logits);
            var token = chain.Sample(logits.AsSpan((sequence.Count - 1) * llama.VocabularySize, llama.VocabularySize));
            chain.Accept(token);
            expected.Add(token);
            sequence.Add(token);
        }
        Assert.Equal(expected, generated);
    }

    [Fact]
    public void Streams_the_text_of_the_generated_tokens()
    {
        var model = files.Path("llama", "q8_0");
        var ids = CliRunner.Run("complete", "-m", model, "-p", "The quick brown fox", "--temp", "0", "-n", "10", "--ids", "-t", "2");
        var text = CliRunner.Run("complete", "-m", model, "-p", "The quick brown fox", "--temp", "0", "-n", "10", "-t", "2");
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Equal("", text.Error);
        var (prompt, generated) = ParseIds(ids.Out);

        using var file = GgufFile.Open(model);
        var tokenizer = new Tokenizer(Vocabulary.Load(file));
        Assert.Equal(tokenizer.Tokenize("The quick brown fox", addSpecial: true, parseSpecial: true), prompt);
        var eog = generated.TakeWhile(t => !tokenizer.Vocabulary.EndOfGeneration.Contains(t));
        var bytes = eog.SelectMany(t => tokenizer.TokenToPiece(t, special: false).ToArray()).ToArray();
        Assert.Equal(Encoding.UTF8.GetString(bytes), text.Out);
    }

    [Fact]
    public void Ids_is_one_line_of_json_last_on_stdout()
    {
        var result = CliRunner.Run("complete", "-m", files.Path("llama", "q8_0"), "-p", "Hello", "-n", "3", "--ids", "--seed", "1", "-t", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Out.Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.Matches(IdsLine(), lines[^2]);
        Assert.Equal(3, ParseIds(result.Out).Generated.Length);

        // A full context ends generation: the 25 prompt tokens and 2 generated ones fill 27 positions, and the
        // third generated token is sampled from the logits of the last of them.
        var full = CliRunner.Run("complete", "-m", files.Path("llama", "q8_0"), "-f", PromptFile, "-c", "27", "-n", "10", "--ids", "-t", "2");
        Assert.True(full.ExitCode == 0, full.Error);
        Assert.Equal(3, ParseIds(full.Out).Generated.Length);
    }

    [Fact]
    public void Errors_are_one_line_with_the_right_exit_code()
    {
        using var dir = new TempDirectory();
        var model = files.Path("llama", "q8_0");

        var missing = CliRunner.Run("complete", "-m", dir.File("none.gguf"), "-p", "Hi");
        Assert.Equal(ExitCodes.BadInput, missing.ExitCode);
        Assert.Equal($"error: {dir.File("none.gguf")}: file not found", Assert.Single(missing.ErrorLines));

        var bert = new RawGguf().String("general.architecture", "bert").WriteTo(dir.File("bert.gguf"));
        var unsupported = CliRunner.Run("complete", "-m", bert, "-p", "Hi");
        Assert.Equal(ExitCodes.BadInput, unsupported.ExitCode);
        Assert.Contains("'bert' cannot be run yet (supported: llama, gemma, gemma2, gemma3, qwen2, qwen2moe, qwen3, phi3)", Assert.Single(unsupported.ErrorLines), StringComparison.Ordinal);

        // The golden prompt is 25 tokens.
        var tooLong = CliRunner.Run("complete", "-m", model, "-f", PromptFile, "-c", "24", "-t", "2");
        Assert.Equal(ExitCodes.BadInput, tooLong.ExitCode);
        Assert.Equal("error: the prompt is 25 tokens, longer than the context of 24 (-c)", Assert.Single(tooLong.ErrorLines));
        Assert.Equal("", tooLong.Out);

        foreach (var bad in new[]
        {
            new[] { "--top-p", "1.5" }, ["--min-p", "-0.1"], ["--repeat-penalty", "0"], ["-n", "-2"], ["-c", "-1"],
            ["--seed", "-2"], ["--temp", "warm"], ["--temp", "NaN"], ["-t", "-1"],
        })
        {
            var result = CliRunner.Run(["complete", "-m", model, "-p", "Hi", .. bad]);
            Assert.True(result.ExitCode == ExitCodes.Usage, $"{string.Join(' ', bad)}: exit {result.ExitCode}");
            Assert.StartsWith("error: ", result.ErrorLines[0], StringComparison.Ordinal);
            Assert.Equal("", result.Out);
        }
        var both = CliRunner.Run("complete", "-m", model, "-p", "Hi", "-f", PromptFile);
        Assert.Equal(ExitCodes.Usage, both.ExitCode);
        Assert.Contains("-p TEXT or -f FILE", both.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_stops_generation_with_exit_130()
    {
        // Ctrl+C arrives while the first generated text is being written: generation stops there.
        using var stop = new CancellationTokenSource();
        using var stdout = new CancelOnWrite(stop);
        using var stderr = new StringWriter();
        var exit = await Quanta.Cli.Cli.RunAsync(
            ["complete", "-m", files.Path("llama", "q8_0"), "-p", "Hi", "--temp", "0", "-n", "200", "-t", "2"],
            new CliContext(stdout, stderr), stop.Token);
        Assert.Equal(ExitCodes.Cancelled, exit);
        Assert.Equal("cancelled\n", stderr.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal(1, stdout.Writes);
    }

    /// <summary>Records what is written and requests a stop at the first non-empty write.</summary>
    sealed class CancelOnWrite(CancellationTokenSource stop) : StringWriter
    {
        public int Writes { get; private set; }

        public override void Write(string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                Writes++;
                stop.Cancel();
            }
            base.Write(value);
        }
    }

    static (int[] Prompt, int[] Generated) ParseIds(string stdout)
    {
        var last = stdout.TrimEnd('\n').Split('\n')[^1];
        using var document = JsonDocument.Parse(last);
        return (
            [.. document.RootElement.GetProperty("prompt_tokens").EnumerateArray().Select(t => t.GetInt32())],
            [.. document.RootElement.GetProperty("generated").EnumerateArray().Select(t => t.GetInt32())]);
    }

    static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
            {
                best = i;
            }
        }
        return best;
    }

    [GeneratedRegex(@"^\{""prompt_tokens"": \[\d+(, \d+)*\], ""generated"": \[\d+(, \d+)*\]\}$")]
    private static partial Regex IdsLine();
}
