using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary>
/// <c>quanta gguf VERB ...</c>: surgery on GGUF files (set a key, rename a tensor, split, merge, diff). One
/// file per verb beside this one; every edit is atomic (a temporary file renamed over the target).
/// </summary>
internal static class GgufCommand
{
    static readonly Func<CliContext, Command>[] Verbs =
    [
        GgufSetCommand.Create,
        GgufRenameTensorCommand.Create,
        GgufSplitCommand.Create,
        GgufMergeCommand.Create,
        GgufDiffCommand.Create,
    ];

    public static Command Create(CliContext context)
    {
        var command = new Command("gguf", "Edit, split, merge and compare GGUF files (set, rename-tensor, split, merge, diff)");
        foreach (var verb in Verbs)
        {
            command.Subcommands.Add(verb(context));
        }
        return command;
    }

    /// <summary>Opens a GGUF file (or split set) after checking it exists.</summary>
    internal static GgufFile Open(string path)
    {
        InputFile.Require(path, ".gguf file");
        return GgufFile.Open(path);
    }

    /// <summary>Runs a library call whose argument errors are the user's, as one line without the parameter name.</summary>
    internal static T UserErrors<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
        }
        catch (FormatException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }
}
