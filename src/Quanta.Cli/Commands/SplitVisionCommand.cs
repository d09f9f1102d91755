using System.CommandLine;
using Quanta.Cli.Commands.Gguf;
using Quanta.Conversion;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta split-vision ONE.gguf [-o TEXT.gguf] [--mmproj MMPROJ.gguf]</c>: Ollama's single gemma3 file into
/// llama.cpp's text GGUF and mmproj (<see cref="Gemma3VisionPackaging.Split"/>); the reverse of <c>merge</c>.
/// </summary>
internal static class SplitVisionCommand
{
    public static Command Create(CliContext context)
    {
        var input = CliArguments.InputPath("ONE", "The single gemma3 GGUF (Ollama layout: text, v.* and mm.* tensors)");
        var output = new Option<string>("--output", "-o") { Description = "The text GGUF to write (default: <name>-text.gguf beside ONE)", HelpName = "TEXT.gguf" };
        var mmproj = new Option<string>("--mmproj") { Description = "The projector GGUF to write (default: mmproj-<name>.gguf beside ONE)", HelpName = "MMPROJ.gguf" };
        var ffnNames = new Option<string>("--mmproj-ffn-names")
        {
            Description = "For files Quanta did not merge: 'legacy' (fc1 = ffn_down, as Google's QAT mmproj files) or 'gguf-py' (fc1 = ffn_up)",
            HelpName = "legacy|gguf-py",
        };
        ffnNames.AcceptOnlyFromAmong("legacy", "gguf-py");
        var tokenType = MergeCommand.TokenEmbeddingTypeOption();
        var command = new Command("split-vision", "Split a single-file gemma3 GGUF into llama.cpp's text GGUF and mmproj (tensor bytes copied)")
        {
            input, output, mmproj, ffnNames, tokenType,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(input);
            var options = new Gemma3VisionPackagingOptions
            {
                TokenEmbeddingType = QuantizeCommand.ParseType(parseResult.GetValue(tokenType), "--token-embedding-type"),
                LegacyFfnNames = parseResult.GetValue(ffnNames) != "gguf-py",
                CancellationToken = cancellationToken,
            };
            var directory = Path.GetDirectoryName(path) ?? "";
            var name = Path.GetFileName(path);
            name = name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? name[..^".gguf".Length] : name;
            var textPath = parseResult.GetValue(output) ?? Path.Combine(directory, $"{name}-text.gguf");
            var projectorPath = parseResult.GetValue(mmproj) ?? Path.Combine(directory, $"mmproj-{name}.gguf");
            using var file = GgufCommand.Open(path);
            GgufCommand.UserErrors(() =>
            {
                Gemma3VisionPackaging.Split(file, textPath, projectorPath, options);
                return 0;
            });
            context.Out.WriteLine(textPath);
            context.Out.WriteLine(projectorPath);
            context.Error.WriteLine($"{path}: text written to {textPath}, vision tower and projector to {projectorPath}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
