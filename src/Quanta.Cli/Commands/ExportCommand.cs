using System.CommandLine;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta export --format gemma-int8 MODEL.gguf -o DIR</c>: a GGUF model written out in another framework's
/// checkpoint format. Today one format: gemma_pytorch's int8 (<c>quant</c>) layout as safetensors.
/// </summary>
internal static class ExportCommand
{
    static readonly string[] Formats = ["gemma-int8"];

    public static Command Create(CliContext context)
    {
        var input = CliArguments.InputPath("MODEL", "A Gemma GGUF file (gemma, gemma2 or gemma3; any tensor type)");
        var format = new Option<string>("--format", "-f")
        {
            Description = "The checkpoint format: gemma-int8 (gemma_pytorch int8 weights with bf16 per-row scalers, as safetensors)",
            HelpName = "format",
            Required = true,
        };
        format.AcceptOnlyFromAmong(Formats);
        var output = new Option<string>("--output", "-o") { Description = "Output directory (model.safetensors and config.json)", HelpName = "DIR", Required = true };
        var command = new Command("export", "Write a GGUF model as another framework's checkpoint (gemma_pytorch int8)")
        {
            input, format, output,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            Run(context, parseResult.GetRequiredValue(input), parseResult.GetRequiredValue(output), cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static void Run(CliContext context, string path, string directory, CancellationToken cancellationToken)
    {
        InputFile.Require(path, ".gguf file");
        if (File.Exists(directory))
        {
            throw new UserErrorException($"{directory}: is a file; give the directory to write the checkpoint into");
        }
        cancellationToken.ThrowIfCancellationRequested();
        using var gguf = GgufFile.Open(path);
        int count;
        try
        {
            count = GemmaInt8GgufExport.Write(gguf, directory);
        }
        catch (ConversionException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        context.Error.WriteLine($"wrote {count} tensors to '{Path.Combine(directory, GemmaInt8GgufExport.WeightsFileName)}' and its config.json");
    }
}
