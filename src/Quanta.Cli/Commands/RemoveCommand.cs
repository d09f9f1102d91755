using System.CommandLine;

namespace Quanta.Cli.Commands;

/// <summary><c>quanta rm NAME...</c>: removes the manifests, and those of each model's own layers no other model uses.</summary>
internal static class RemoveCommand
{
    public static Command Create(CliContext context)
    {
        var names = new Argument<string[]>("NAME") { Description = "The models to remove", Arity = ArgumentArity.OneOrMore };
        var store = StoreArguments.StoreOption();
        var command = new Command("rm", "Remove models and those of their layers no other model uses (ollama rm)") { names, store };
        command.SetAction(parseResult =>
        {
            var modelStore = StoreArguments.Open(parseResult, store);
            foreach (var text in parseResult.GetRequiredValue(names))
            {
                var name = StoreArguments.Name(text);
                var collected = modelStore.Remove(name, line => context.Error.WriteLine($"warning: {line}"));
                context.Out.WriteLine($"deleted '{name.DisplayShortest}'");
                if (collected is null)
                {
                    context.Error.WriteLine("warning: another quanta is writing to the store; the model's unused layers are left for 'quanta prune'");
                }
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
