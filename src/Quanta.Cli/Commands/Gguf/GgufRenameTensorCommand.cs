using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary><c>quanta gguf rename-tensor FILE OLD NEW</c>: renames one tensor in place, atomically.</summary>
internal static class GgufRenameTensorCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliArguments.InputPath("FILE", "The GGUF file to edit (a single file, not a shard)");
        var oldName = new Argument<string>("OLD") { Description = "The tensor's name now" };
        var newName = new Argument<string>("NEW") { Description = "Its new name (at most 63 bytes)" };
        var command = new Command("rename-tensor", "Rename a tensor in a GGUF file, in place (atomically); its type, shape and bytes stay")
        {
            file, oldName, newName,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(file);
            var (from, to) = (parseResult.GetRequiredValue(oldName), parseResult.GetRequiredValue(newName));
            InputFile.Require(path, ".gguf file");
            GgufCommand.UserErrors(() =>
            {
                GgufEdit.RenameTensor(path, from, to, cancellationToken);
                return 0;
            });
            context.Error.WriteLine($"{path}: renamed tensor '{from}' to '{to}'");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
