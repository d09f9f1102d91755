using System.CommandLine;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>What the store verbs share: <c>--store</c> and model-name parsing with one-line errors.</summary>
internal static class StoreArguments
{
    public static Option<string> StoreOption() => new("--store")
    {
        Description = $"The model store (default ${ModelStore.ModelsVariable}, else ~/.quanta/models); an Ollama models folder works too",
        HelpName = "DIR",
    };

    public static ModelStore Open(ParseResult parseResult, Option<string> option) =>
        new(parseResult.GetValue(option) is { Length: > 0 } dir ? dir : ModelStore.DefaultRoot);

    public static ModelName Name(string text)
    {
        try
        {
            return ModelName.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UserErrorException(e.Message, e);
        }
    }

    public static Argument<string> NameArgument(string name, string description)
    {
        var argument = CliArguments.InputPath(name, description);
        return argument;
    }
}
