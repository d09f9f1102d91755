using System.Text;
using Quanta.Cli;
using Quanta.Tests.Inference.Tokenizers;

namespace Quanta.Tests.Cli;

/// <summary><c>quanta tokenize</c> against llama.cpp's vocab tests and llama-tokenize's output format.</summary>
public sealed class TokenizeCommandTests
{
    static readonly Lazy<string> SpmPath = new(() => Decompressed("llama-spm"));
    static readonly Lazy<string> Gpt2Path = new(() => Decompressed("gpt-2"));

    static string Decompressed(string name)
    {
        VocabFixtures.OpenGguf(name, out var path);
        return path;
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("gpt-2")]
    public void File_input_gives_llama_cpp_ids_byte_for_byte(string name)
    {
        var model = name == "gpt-2" ? Gpt2Path.Value : SpmPath.Value;
        var file = Path.Combine(Path.GetTempPath(), $"quanta-tokenize-{Guid.NewGuid():N}.txt");
        try
        {
            foreach (var (text, ids) in VocabFixtures.Cases(name))
            {
                File.WriteAllBytes(file, text);
                var result = CliRunner.Run("tokenize", "-m", model, "-f", file, "--ids", "--no-bos", "--no-parse-special", "--no-escape");
                Assert.Equal(0, result.ExitCode);
                Assert.Equal($"[{string.Join(", ", ids)}]\n", result.Out);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Default_output_is_llama_tokenize_lines_with_bos_escapes_and_special_tokens()
    {
        var result = CliRunner.Run("tokenize", "-m", SpmPath.Value, "-p", @"Hello world\n<s>", "--show-count", "--log-disable");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Equal(
            "     1 -> '<s>'\n 15043 -> ' Hello'\n  3186 -> ' world'\n    13 -> '\n'\n     1 -> '<s>'\nTotal number of tokens: 5\n",
            result.Out);
    }

    [Fact]
    public void No_escape_and_no_parse_special_keep_the_text_as_written()
    {
        var result = CliRunner.Run("tokenize", "-m", SpmPath.Value, "-p", @"\n<s>", "--ids", "--no-escape", "--no-parse-special", "--no-bos");
        Assert.Equal(0, result.ExitCode);
        // " \n<s>" as plain text: ▁\, n, <, s, > (llama.cpp's ids for the Llama 2 vocabulary).
        Assert.Equal("[320, 29876, 29966, 29879, 29958]\n", result.Out);
    }

    [Fact]
    public void Escapes_are_processed_as_llama_cpp_string_process_escapes()
    {
        // \x42 is B, \t a tab, \\ one backslash; an unknown escape (\q) and a lone trailing backslash stay as written.
        var result = CliRunner.Run("tokenize", "-m", Gpt2Path.Value, "-p", @"A\x42\t\q\\x\", "--ids");
        Assert.Equal(0, result.ExitCode);
        var expected = VocabFixtures.Load("gpt-2").Tokenize("AB\t\\q\\x\\", addSpecial: false);
        Assert.Equal($"[{string.Join(", ", expected)}]\n", result.Out);
    }

    [Fact]
    public void Byte_pieces_that_are_not_utf8_are_printed_in_hex()
    {
        var result = CliRunner.Run("tokenize", "-m", SpmPath.Value, "-p", "🦙", "--no-bos");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            " 29871 -> ' '\n   243 -> '<f0>' (UTF-8 decode failure)\n   162 -> '<9f>' (UTF-8 decode failure)\n"
            + "   169 -> '<a6>' (UTF-8 decode failure)\n   156 -> '<99>' (UTF-8 decode failure)\n",
            result.Out);
    }

    [Fact]
    public async Task Stdin_is_read_byte_for_byte()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr) { OpenStandardInput = () => new MemoryStream(Encoding.UTF8.GetBytes("Hello world\n")) };
        var exit = await Quanta.Cli.Cli.RunAsync(["tokenize", "-m", Gpt2Path.Value, "--stdin", "--ids"], context);
        Assert.Equal(0, exit);
        // GPT-2 adds no BOS: Hello, Ġworld, Ċ.
        Assert.Equal("[15496, 995, 198]\n", stdout.ToString());
    }

    [Fact]
    public void Two_prompt_sources_are_a_usage_error()
    {
        var result = CliRunner.Run("tokenize", "-m", SpmPath.Value, "-p", "a", "--stdin");
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("error: Multiple prompt sources specified (--stdin, --file, --prompt are mutually exclusive)", result.ErrorLines[0]);
    }

    [Fact]
    public void No_prompt_source_is_a_usage_error()
    {
        var result = CliRunner.Run("tokenize", "-m", SpmPath.Value);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("error: Prompt source is required (use --stdin, --file, or --prompt)", result.ErrorLines[0]);
    }

    [Fact]
    public void A_missing_model_is_bad_input_in_one_line()
    {
        var result = CliRunner.Run("tokenize", "-m", "/nonexistent/model.gguf", "-p", "a");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal(["error: /nonexistent/model.gguf: file not found"], result.ErrorLines);
    }

    [Fact]
    public void A_model_without_a_vocabulary_is_bad_input_in_one_line()
    {
        using var dir = new TempDirectory();
        var path = new RawGguf().String("general.architecture", "llama").WriteTo(dir.File("novocab.gguf"));
        var result = CliRunner.Run("tokenize", "-m", path, "-p", "a");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal([$"error: {path}: no vocabulary: tokenizer.ggml.model is missing"], result.ErrorLines);
    }

    [Fact]
    public void A_vocabulary_only_file_of_any_architecture_works()
    {
        // The vocab fixtures have no tensors; this one also has no architecture at all.
        using var dir = new TempDirectory();
        var path = new RawGguf()
            .String("tokenizer.ggml.model", "gpt2")
            .String("tokenizer.ggml.pre", "gpt-2")
            .Strings("tokenizer.ggml.tokens", "a", "b", "ab", "\u0120")
            .Strings("tokenizer.ggml.merges", "a b")
            .WriteTo(dir.File("tiny.gguf"));
        var result = CliRunner.Run("tokenize", "-m", path, "-p", "ab ab", "--ids");
        Assert.Equal(0, result.ExitCode);
        // GPT-2 splitting gives "ab" and " ab" (byte-level "Ġab"); a+b merge in both, Ġ stays on its own.
        Assert.Equal("[2, 3, 2]\n", result.Out);
    }
}
