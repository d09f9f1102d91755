using System.CommandLine;

namespace Quanta.Cli.Commands;

/// <summary><c>quanta cp SOURCE DESTINATION</c>: a new name for the same layers.</summary>
internal static class CopyCommand
{
    public static Command Create(CliContext context)
    {
        var source = StoreArguments.NameArgument("SOURCE", "The model to copy");
        var destination = StoreArguments.NameArgument("DESTINATION", "The new name");
        var store = StoreArguments.StoreOption();
        var command = new Command("cp", "Copy a model under a new name (ollama cp)") { source, destination, store };
        command.SetAction(parseResult =>
        {
            var from = StoreArguments.Name(parseResult.GetRequiredValue(source));
            var to = StoreArguments.Name(parseResult.GetRequiredValue(destination));
            StoreArguments.Open(parseResult, store).Copy(from, to);
            context.Out.WriteLine($"copied '{from.DisplayShortest}' to '{to.DisplayShortest}'");
            return ExitCodes.Success;
        });
        return command;
    }
}
