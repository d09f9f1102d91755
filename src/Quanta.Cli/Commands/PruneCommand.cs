using System.CommandLine;
using Quanta.Cli.Rendering;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta prune</c>: deletes the blobs no model references, as Ollama's start-up prune does, except those
/// modified in the last hour (another tool may be about to reference them) and downloads in progress.
/// </summary>
internal static class PruneCommand
{
    public static Command Create(CliContext context)
    {
        var store = StoreArguments.StoreOption();
        var command = new Command("prune", "Delete the blobs no model uses, except those changed in the last hour and downloads in progress") { store };
        command.SetAction(parseResult =>
        {
            var result = StoreArguments.Open(parseResult, store).Prune(line => context.Error.WriteLine($"warning: {line}"))
                ?? throw new UserErrorException("another quanta is writing to the store; try again when it is done");
            foreach (var digest in result.Deleted)
            {
                context.Out.WriteLine($"deleted {digest}");
            }
            context.Out.WriteLine($"{result.Deleted.Count} unused blob(s) deleted, {OllamaFormat.HumanBytes(result.DeletedBytes)} freed");
            if (result.KeptYoung.Count > 0)
            {
                context.Out.WriteLine($"{result.KeptYoung.Count} unused blob(s) kept: changed in the last hour, they may belong to a model being created");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
