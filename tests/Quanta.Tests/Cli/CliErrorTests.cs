using System.CommandLine;
using Quanta.Cli;
using Xunit;

namespace Quanta.Tests.Cli;

public sealed class CliErrorTests
{
    [Fact]
    public void Inspect_MissingFile_ExitsTwoWithOneLine()
    {
        var missing = Path.Combine(Path.GetTempPath(), "quanta-no-such-model.gguf");

        var result = CliRunner.Run("inspect", missing);

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("", result.Out);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.Contains("not found", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_Directory_ExitsTwo()
    {
        using var dir = new TempDirectory();

        var result = CliRunner.Run("inspect", dir.Path);

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("is a directory", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_NotGguf_ExitsTwoWithoutStackTrace()
    {
        using var dir = new TempDirectory();
        var path = dir.File("notes.gguf");
        File.WriteAllText(path, "These are not the tensors you are looking for. Padding to get past the header size.");

        var result = CliRunner.Run("inspect", path);

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("", result.Out);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("not a GGUF file", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line.Replace("at byte", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_TruncatedGguf_ExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.File("truncated.gguf");
        File.WriteAllBytes(path, File.ReadAllBytes(CliRunner.TinyModel).AsSpan(0, 4096).ToArray());

        var result = CliRunner.Run("inspect", path, "--json");

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("error: ", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_EmptyFile_ExitsTwo()
    {
        using var dir = new TempDirectory();
        var path = dir.File("empty.gguf");
        File.WriteAllBytes(path, []);

        var result = CliRunner.Run("inspect", path);

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Single(result.ErrorLines);
    }

    [Theory]
    [InlineData("inspect", "MODEL", "--bogus")]
    [InlineData("inspect", "--tensor", "MODEL")]
    [InlineData("inspect")]
    [InlineData("inspekt", "MODEL")]
    [InlineData("help", "inspekt")]
    public void UsageErrors_ExitOne(params string[] args)
    {
        var result = CliRunner.Run([.. args.Select(a => a == "MODEL" ? CliRunner.TinyModel : a)]);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("error: ", result.ErrorLines[0], StringComparison.Ordinal);
        Assert.Contains("--help", result.ErrorLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ExitsZeroAndListsVerbs()
    {
        var result = CliRunner.Run("--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("inspect", result.Out, StringComparison.Ordinal);
        Assert.Contains("quanta", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("help")]
    public void Bare_quanta_and_help_print_the_help(params string[] args)
    {
        var help = CliRunner.Run("--help");
        var result = CliRunner.Run(args);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Equal(help.Out, result.Out);
        Assert.Contains("Usage:", result.Out, StringComparison.Ordinal);
        Assert.Contains("convert", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_with_a_verb_prints_that_verbs_help()
    {
        var result = CliRunner.Run("help", "convert");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(CliRunner.Run("convert", "--help").Out, result.Out);
        Assert.Contains("--outtype", result.Out, StringComparison.Ordinal);
    }

    /// <summary>
    /// README's table, command by command: 1 when the command line cannot be parsed (unknown command or option,
    /// missing argument or required option, a value outside an option's fixed choices), 2 when it can but what it
    /// names or asks for is bad (missing file, malformed content, unknown type name, an option that does not apply).
    /// </summary>
    [Theory]
    [InlineData(1, "quantize", "MODEL")]
    [InlineData(1, "quantize", "MODEL", "OUT", "Q4_0", "--no-such-option")]
    [InlineData(2, "quantize", "MODEL", "OUT", "BOGUS")]
    [InlineData(2, "quantize", "MISSING", "OUT", "Q4_0")]
    [InlineData(2, "quantize", "MODEL", "OUT", "Q4_0", "--threads", "-1")]
    [InlineData(2, "quantize", "MODEL", "OUT", "Q4_0", "--tensor-type", "bad")]
    [InlineData(2, "quantize", "MODEL", "OUT", "IQ2_XXS")]
    [InlineData(1, "inspect")]
    [InlineData(2, "inspect", "MISSING")]
    [InlineData(2, "convert", "MISSING")]
    [InlineData(2, "convert", "DIR", "--type", "f16")]
    [InlineData(1, "export", "MODEL")]
    [InlineData(1, "export", "--format", "nope", "MODEL", "-o", "OUT")]
    [InlineData(2, "export", "--format", "gemma-int8", "MISSING", "-o", "OUT")]
    [InlineData(1, "types", "extra")]
    [InlineData(2, "demo", "--heads", "3")]
    [InlineData(2, "demo", "--write-model", "OUT", "--vocab", "64")]
    [InlineData(1, "create")]
    [InlineData(2, "create", "m", "-f", "MISSING", "--store", "STORE")]
    [InlineData(2, "create", "m", "-f", "MODELFILE", "--quantize", "bogus", "--store", "STORE")]
    [InlineData(2, "create", "bad name!", "-f", "MODELFILE", "--store", "STORE")]
    [InlineData(2, "show", "nosuch", "--store", "STORE")]
    [InlineData(2, "cp", "nosuch", "other", "--store", "STORE")]
    [InlineData(2, "rm", "nosuch", "--store", "STORE")]
    [InlineData(1, "show")]
    [InlineData(2, "merge", "MODEL", "MODEL", "-o", "OUT")]
    [InlineData(2, "split-vision", "MODEL")]
    [InlineData(2, "shard-status", "MISSING")]
    [InlineData(1, "shard-status")]
    [InlineData(2, "quantize", "MODEL", "OUT", "Q4_0", "--shard", "9/3")]
    [InlineData(2, "gguf", "set", "MODEL", "bad")]
    [InlineData(2, "gguf", "diff", "MODEL", "MISSING")]
    [InlineData(1, "gguf", "frobnicate")]
    [InlineData(2, "verify", "nosuch", "--store", "STORE")]
    [InlineData(1, "verify", "--store", "STORE")]
    [InlineData(1, "prune", "extra", "--store", "STORE")]
    [InlineData(2, "tokenize", "-m", "MISSING", "-p", "hi")]
    [InlineData(1, "tokenize", "-m", "MODEL")]
    [InlineData(2, "logits", "-m", "MISSING", "--tokens", "MISSING", "-o", "OUT")]
    [InlineData(2, "complete", "-m", "MISSING", "-p", "hi")]
    [InlineData(2, "perplexity", "-m", "MISSING", "-f", "MISSING")]
    public void Every_command_follows_the_exit_code_table(int exitCode, params string[] args)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("Modelfile"), $"FROM {CliRunner.TinyModel}\n");
        var resolved = args.Select(a => a switch
        {
            "MODEL" => CliRunner.TinyModel,
            "OUT" => dir.File("out.gguf"),
            "MISSING" => dir.File("missing.gguf"),
            "DIR" => dir.Path,
            "STORE" => dir.File("store"),
            "MODELFILE" => dir.File("Modelfile"),
            _ => a,
        }).ToArray();

        var result = CliRunner.Run(resolved);

        Assert.True(exitCode == result.ExitCode, $"exit {result.ExitCode}: {result.Error}");
        Assert.StartsWith("error: ", result.ErrorLines[0], StringComparison.Ordinal);
        // One line; a parse error adds a pointer to the help.
        if (exitCode == 1)
        {
            Assert.Contains("--help", result.ErrorLines[^1], StringComparison.Ordinal);
        }
        else
        {
            Assert.Single(result.ErrorLines);
        }
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Create_with_an_unknown_quantize_type_names_the_option_and_no_output_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("Modelfile"), $"FROM {CliRunner.TinyModel}\n");

        var result = CliRunner.Run("create", "m", "-f", dir.File("Modelfile"), "--quantize", "bogus", "--store", dir.File("store"));

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal(["error: --quantize: unknown quantization type 'bogus'; run 'quanta types' for the list"], result.ErrorLines);
    }

    [Theory]
    [InlineData("FROM\n")]
    [InlineData("FROM")]
    [InlineData("# base\nFROM   \n")]
    public void From_without_an_argument_says_so(string modelfile)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("Modelfile"), modelfile);

        var result = CliRunner.Run("create", "m", "-f", dir.File("Modelfile"), "--store", dir.File("store"));

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var line = modelfile.StartsWith('#') ? 2 : 1;
        Assert.Equal([$"error: {dir.File("Modelfile")}: (line {line}): FROM needs a file path or a model name"], result.ErrorLines);
    }

    [Fact]
    public void Create_from_a_gguf_without_a_tokenizer_warns_as_for_a_checkpoint()
    {
        using var dir = new TempDirectory();
        var bare = dir.File("no-tokenizer.gguf");
        Quanta.Demo.SyntheticLlamaModel.Write(bare, new Quanta.Demo.SyntheticLlamaShape(1, 32, 64, 2, 1, 64));
        File.WriteAllText(dir.File("Modelfile"), $"FROM {bare}\n");
        File.WriteAllText(dir.File("Modelfile.tiny"), $"FROM {CliRunner.TinyModel}\n");

        var result = CliRunner.Run("create", "bare", "-f", dir.File("Modelfile"), "--store", dir.File("store"));
        var tiny = CliRunner.Run("create", "tiny", "-f", dir.File("Modelfile.tiny"), "--store", dir.File("store"));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"warning: '{bare}' has no tokenizer (no tokenizer.ggml.model key), so the model cannot run as is", result.ErrorLines);
        Assert.Equal("success", result.ErrorLines[^1]);
        Assert.True(tiny.ExitCode == 0, tiny.Error);
        Assert.DoesNotContain(tiny.ErrorLines, l => l.StartsWith("warning:", StringComparison.Ordinal));
    }

    [Fact]
    public void Cancelled_ExitsOneThirty()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var result = CliRunner.Run(false, cts.Token, null, "inspect", CliRunner.TinyModel);

        Assert.Equal(ExitCodes.Cancelled, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.Single(result.ErrorLines);
    }

    [Fact]
    public void UnexpectedError_IsOneLineWithVerboseHint()
    {
        var result = CliRunner.Run(false, CancellationToken.None, Crash, "crash");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("InvalidOperationException", line, StringComparison.Ordinal);
        Assert.Contains("boom", line, StringComparison.Ordinal);
        Assert.Contains("--verbose", line, StringComparison.Ordinal);
    }

    [Fact]
    public void UnexpectedError_WithVerbose_ShowsStackTrace()
    {
        var result = CliRunner.Run(false, CancellationToken.None, Crash, "crash", "--verbose");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.True(result.ErrorLines.Length > 1);
        Assert.Contains(result.ErrorLines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public void UserError_FromAnyVerb_ExitsTwo()
    {
        static Command Refuse(CliContext _)
        {
            var command = new Command("refuse");
            command.SetAction((Func<ParseResult, int>)(_ => throw new UserErrorException("that will not do\nat all")));
            return command;
        }

        var result = CliRunner.Run(false, CancellationToken.None, Refuse, "refuse");

        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("error: that will not do at all", Assert.Single(result.ErrorLines));
    }

    static Command Crash(CliContext context)
    {
        var command = new Command("crash");
        command.SetAction((Func<ParseResult, int>)(_ => throw new InvalidOperationException("boom")));
        return command;
    }
}
