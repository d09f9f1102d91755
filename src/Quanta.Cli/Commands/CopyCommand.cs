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
        command.SetAction((parseResult, cancellationToken) =>
        {
            var from = StoreArguments.Name(parseResult.GetRequiredValue(source));
            var to = StoreArguments.Name(parseResult.GetRequiredValue(destination));
            // Every layer is verified first (large ones once per change): a corrupt layer is reported, not copied.
            StoreArguments.Open(parseResult, store).Copy(from, to, cancellationToken);
            context.Out.WriteLine($"copied '{from.DisplayShortest}' to '{to.DisplayShortest}'");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
