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
    [InlineData]
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
