using System.CommandLine;
using Quanta.Cli.Rendering;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary><c>quanta list</c>: the models in the store, as <c>ollama list</c> prints them.</summary>
internal static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var store = StoreArguments.StoreOption();
        var command = new Command("list", "List the models in the store (ollama list)") { store };
        command.Aliases.Add("ls");
        command.SetAction(parseResult =>
        {
            var now = DateTimeOffset.UtcNow;
            var rows = StoreArguments.Open(parseResult, store).List(line => context.Error.WriteLine($"warning: {line}"))
                .Select(m => new[] { m.Name.DisplayShortest, Digests.ShortId(m.ManifestDigest), OllamaFormat.HumanBytes(m.Size), OllamaFormat.HumanTime(m.ModifiedAt, now) });
            OllamaFormat.WriteTable(context.Out, ["NAME", "ID", "SIZE", "MODIFIED"], rows);
            return ExitCodes.Success;
        });
        return command;
    }
}
