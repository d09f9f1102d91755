using Quanta.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Cli;

/// <summary>
/// Every verb that reads an input file says the same when it is not there ("PATH: file not found") and when a
/// directory stands where the file belongs, one line and exit 2, whichever option named it.
/// </summary>
public sealed class MissingFileTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string[]> MissingModel() => new()
    {
        new[] { "tokenize", "-m", "{missing}", "-p", "Hi" },
        new[] { "logits", "-m", "{missing}", "-f", "{text}", "-o", "{out}" },
        new[] { "complete", "-m", "{missing}", "-p", "Hi" },
        new[] { "perplexity", "-m", "{missing}", "-f", "{text}" },
        new[] { "inspect", "{missing}" },
        new[] { "quantize", "{missing}", "{out}", "Q8_0" },
        new[] { "gguf", "set", "{missing}", "a.b=u8:1" },
        new[] { "export", "--format", "gemma-int8", "{missing}", "-o", "{out}" },
    };

    public static TheoryData<string[]> MissingText() => new()
    {
        new[] { "tokenize", "-m", "{model}", "-f", "{missing}" },
        new[] { "logits", "-m", "{model}", "-f", "{missing}", "-o", "{out}" },
        new[] { "complete", "-m", "{model}", "-f", "{missing}" },
        new[] { "perplexity", "-m", "{model}", "-f", "{missing}" },
        new[] { "perplexity", "-m", "{model}", "--kl-divergence-base", "{missing}", "--kl-divergence" },
    };

    [Theory]
    [MemberData(nameof(MissingModel))]
    [MemberData(nameof(MissingText))]
    public void A_missing_input_is_file_not_found(string[] args)
    {
        var missing = _dir.File("no-such-file");
        var result = CliRunner.Run(Expand(args, missing));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal([$"error: {missing}: file not found"], result.ErrorLines);
        Assert.False(File.Exists(_dir.File("out")));
    }

    [Theory]
    [MemberData(nameof(MissingModel))]
    public void A_directory_for_the_model_says_what_to_give(string[] args)
    {
        var result = CliRunner.Run(Expand(args, _dir.Path));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal([$"error: {_dir.Path}: is a directory; give the path of a .gguf file"], result.ErrorLines);
    }

    [Theory]
    [MemberData(nameof(MissingText))]
    public void A_directory_for_a_text_file_says_what_to_give(string[] args)
    {
        var result = CliRunner.Run(Expand(args, _dir.Path));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal([$"error: {_dir.Path}: is a directory; give the path of a file"], result.ErrorLines);
    }

    string[] Expand(string[] args, string missing)
    {
        var text = _dir.File("text.txt");
        File.WriteAllText(text, "Hello world, hello again, and once more hello.");
        return [.. args.Select(a => a
            .Replace("{missing}", missing, StringComparison.Ordinal)
            .Replace("{model}", TinyTrainedModel.ShippedQ8_0, StringComparison.Ordinal)
            .Replace("{text}", text, StringComparison.Ordinal)
            .Replace("{out}", _dir.File("out"), StringComparison.Ordinal))];
    }
}
