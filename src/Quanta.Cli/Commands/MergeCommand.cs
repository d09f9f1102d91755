using System.CommandLine;
using Quanta.Cli.Commands.Gguf;
using Quanta.Conversion;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta merge TEXT.gguf MMPROJ.gguf -o ONE.gguf</c>: llama.cpp's two gemma3 files (text + clip mmproj) into
/// Ollama's single file (<see cref="Gemma3VisionPackaging.Merge"/>); <c>split-vision</c> is the reverse.
/// </summary>
internal static class MergeCommand
{
    /// <summary>--token-embedding-type, shared with split-vision.</summary>
    internal static Option<string> TokenEmbeddingTypeOption() => new("--token-embedding-type")
    {
        Description = "Requantize the token embedding (token_embd.weight, F16 in Google's QAT files) to this type, e.g. q6_k; every other tensor is copied",
        HelpName = "type",
    };

    public static Command Create(CliContext context)
    {
        var text = CliArguments.InputPath("TEXT", "The gemma3 text GGUF (llama.cpp layout)");
        var mmproj = CliArguments.InputPath("MMPROJ", "Its vision projector (mmproj-*.gguf, general.architecture = clip)");
        var output = new Option<string>("--output", "-o") { Description = "The single gemma3 GGUF to write (Ollama layout)", HelpName = "ONE.gguf", Required = true };
        var tokenType = TokenEmbeddingTypeOption();
        var command = new Command("merge", "Merge a gemma3 text GGUF and its mmproj into Ollama's single-file layout (tensor bytes copied)")
        {
            text, mmproj, output, tokenType,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new Gemma3VisionPackagingOptions
            {
                TokenEmbeddingType = QuantizeCommand.ParseType(parseResult.GetValue(tokenType), "--token-embedding-type"),
                CancellationToken = cancellationToken,
            };
            var outPath = parseResult.GetRequiredValue(output);
            using var textFile = GgufCommand.Open(parseResult.GetRequiredValue(text));
            using var projector = GgufCommand.Open(parseResult.GetRequiredValue(mmproj));
            GgufCommand.UserErrors(() =>
            {
                Gemma3VisionPackaging.Merge(textFile, projector, outPath, options);
                return 0;
            });
            context.Error.WriteLine($"merged {textFile.Tensors.Count} text and {projector.Tensors.Count} vision tensors into {outPath}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
