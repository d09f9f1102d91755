using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary><c>quanta gguf set FILE KEY=TYPE:VALUE</c>: sets one metadata key in place, atomically.</summary>
internal static class GgufSetCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliArguments.InputPath("FILE", "The GGUF file to edit (a single file, not a shard)");
        var assignment = new Argument<string>("KEY=TYPE:VALUE")
        {
            Description = $"The key, its type ({string.Join(", ", GgufEdit.ScalarTypeNames)}) and value, e.g. general.name=str:My Model or llama.context_length=u32:8192",
        };
        var command = new Command("set", "Set a metadata key in a GGUF file, in place (atomically: the file is rewritten beside itself and renamed)")
        {
            file, assignment,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(file);
            var (key, value) = Parse(parseResult.GetRequiredValue(assignment));
            InputFile.Require(path, ".gguf file");
            var old = GgufCommand.UserErrors(() => GgufEdit.SetKey(path, key, value, cancellationToken));
            context.Error.WriteLine(old is null
                ? $"{path}: added {key} ({GgufValueTypes.Name(value.Type)}) = {value}"
                : $"{path}: set {key} ({GgufValueTypes.Name(value.Type)}) = {value} (was {GgufValueTypes.Name(old.Type)} {old})");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary><c>KEY=TYPE:VALUE</c>; the value is everything after the first ':' (it may hold '=' and ':').</summary>
    internal static (string Key, GgufValue Value) Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var colon = equals < 0 ? -1 : text.IndexOf(':', equals + 1);
        if (equals <= 0 || colon < 0)
        {
            throw new UserErrorException($"'{text}': expected KEY=TYPE:VALUE, e.g. general.name=str:My Model (types: {string.Join(", ", GgufEdit.ScalarTypeNames)})");
        }
        var key = text[..equals];
        var value = GgufCommand.UserErrors(() => GgufEdit.ParseValue(text[(equals + 1)..colon], text[(colon + 1)..]));
        return (key, value);
    }
}
