using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary>
/// <c>quanta gguf diff A B</c>: metadata keys and tensors added (+), removed (-) or changed (~), tensor bytes
/// compared by SHA-256. Exit 0 when the models are equal, 1 when they differ (like diff), 2 on bad input.
/// </summary>
internal static class GgufDiffCommand
{
    public const int Different = 1;

    public static Command Create(CliContext context)
    {
        var a = CliArguments.InputPath("A", "A GGUF file (or any shard of a split set)");
        var b = CliArguments.InputPath("B", "The GGUF file to compare it with");
        var command = new Command("diff", "Compare two GGUF files: keys and tensors added, removed or changed (exit 0 equal, 1 different)")
        {
            a, b,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var (pathA, pathB) = (parseResult.GetRequiredValue(a), parseResult.GetRequiredValue(b));
            InputFile.Require(pathA, ".gguf file");
            InputFile.Require(pathB, ".gguf file");
            using var fileA = GgufFile.Open(pathA);
            using var fileB = GgufFile.Open(pathB);
            var differences = GgufDiff.Compare(fileA, fileB, cancellationToken);
            foreach (var difference in differences)
            {
                context.Out.WriteLine(difference.ToString());
            }
            return Task.FromResult(differences.Count == 0 ? ExitCodes.Success : Different);
        });
        return command;
    }
}
