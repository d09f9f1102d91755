using System.CommandLine;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats.PyTorch;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta convert MODEL.ckpt</c> for gemma_pytorch int8 checkpoints: the same types and pipeline as a Hugging
/// Face conversion, with Q8_0 written losslessly from the int8 values where the scalers allow.
/// </summary>
internal static partial class ConvertCommand
{
    static (Option<string> Variant, Option<string> Tokenizer) GemmaInt8Options() =>
    (
        new Option<string>("--variant")
        {
            Description = $"gemma_pytorch checkpoints: the model variant ({string.Join(", ", GemmaVariant.Known.Select(v => v.Name))}); default: recognised from the shapes",
            HelpName = "name",
        },
        new Option<string>("--tokenizer")
        {
            Description = "gemma_pytorch checkpoints: the SentencePiece model (default: tokenizer.model beside the checkpoint)",
            HelpName = "tokenizer.model",
        }
    );

    /// <summary>Opens a gemma_pytorch checkpoint with <c>--variant</c> and <c>--tokenizer</c>; their mistakes are usage errors.</summary>
    static GemmaInt8Conversion OpenGemmaInt8(Request request)
    {
        GemmaVariant? variant = null;
        if (request.Variant is { } name)
        {
            variant = GemmaVariant.Find(name)
                ?? throw new UserErrorException($"unknown Gemma variant '{name}'; known: {string.Join(", ", GemmaVariant.Known.Select(v => v.Name))}");
        }
        if (request.Tokenizer is { } tokenizerPath)
        {
            InputFile.Require(tokenizerPath, "tokenizer.model file");
        }
        try
        {
            return GemmaInt8Conversion.Open(request.Directory, variant, request.Tokenizer);
        }
        catch (Exception e) when (e is PyTorchFormatException or ConversionException or Conversion.Tokenizers.TokenizerFormatException)
        {
            throw new UserErrorException(e.Message, e);
        }
    }
}
