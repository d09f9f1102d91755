using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary><c>quanta gguf merge FIRST_SHARD OUT</c>: a split set back into one file, without the split keys.</summary>
internal static class GgufMergeCommand
{
    public static Command Create(CliContext context)
    {
        var first = CliArguments.InputPath("FIRST_SHARD", "Any shard of the split set (name-00001-of-00003.gguf)");
        var output = new Argument<string>("OUT") { Description = "The merged GGUF file" };
        var command = new Command("merge", "Merge the shards of a split GGUF into one file (gguf-split --merge)")
        {
            first, output,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(first);
            var outPath = parseResult.GetRequiredValue(output);
            using var file = GgufCommand.Open(path);
            if (!file.IsSplit)
            {
                throw new UserErrorException($"{path}: not a split set (no split.count above 1); nothing to merge");
            }
            GgufCommand.UserErrors(() =>
            {
                GgufSplit.Merge(file, outPath, new GgufWriterOptions { CancellationToken = cancellationToken });
                return 0;
            });
            context.Error.WriteLine($"merged {file.FilePaths.Count} shards ({file.Tensors.Count} tensors) into {outPath}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
