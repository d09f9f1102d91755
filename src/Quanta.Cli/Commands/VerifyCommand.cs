using System.CommandLine;
using Quanta.Cli.Rendering;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta verify NAME...</c>: hashes every blob of each model in full and says which no longer match their
/// digest. Exit 2 when one does not.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CliContext context)
    {
        var names = new Argument<string[]>("NAME") { Description = "The models to verify", Arity = ArgumentArity.OneOrMore };
        var store = StoreArguments.StoreOption();
        var command = new Command("verify", "Check every layer of a model against its digest (reads every byte)") { names, store };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var modelStore = StoreArguments.Open(parseResult, store);
            var damaged = new List<string>();
            foreach (var text in parseResult.GetRequiredValue(names))
            {
                var name = StoreArguments.Name(text);
                var checks = modelStore.VerifyModel(name, cancellationToken);
                var rows = checks.Select(c => new[] { c.Layer.Digest, Kind(c.Layer.MediaType), OllamaFormat.HumanBytes(c.Layer.Size), c.Problem is null ? "ok" : "CORRUPT" });
                OllamaFormat.WriteTable(context.Out, ["DIGEST", "LAYER", "SIZE", "STATUS"], rows);
                foreach (var check in checks.Where(c => c.Problem is not null))
                {
                    context.Error.WriteLine($"error: {check.Problem}");
                }
                var bad = checks.Count(c => c.Problem is not null);
                if (bad > 0)
                {
                    damaged.Add($"'{name.DisplayShortest}' ({bad} of {checks.Count})");
                }
                else
                {
                    context.Out.WriteLine($"'{name.DisplayShortest}': all {checks.Count} blobs match their digests");
                }
            }
            if (damaged.Count > 0)
            {
                throw new UserErrorException($"corrupt layers in {string.Join(", ", damaged)}; remove the models that use them and create them again");
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The last word of a media type: <c>model</c>, <c>template</c> ...; the config is <c>config</c>.</summary>
    internal static string Kind(string mediaType) =>
        mediaType == MediaTypes.Config ? "config" : mediaType[(mediaType.LastIndexOf('.') + 1)..];
}
