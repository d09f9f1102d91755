using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// The conversion's tokenizer import: <see cref="TokenizerImport"/> for the checkpoint's architecture family,
/// or null when the directory holds no tokenizer files (the converter then warns that the output has no
/// <c>tokenizer.*</c> keys).
/// </summary>
public sealed class CheckpointTokenizerSource : ITokenizerKeysSource
{
    public static readonly CheckpointTokenizerSource Instance = new();

    static readonly string[] TokenizerFiles = ["tokenizer.model", "tokenizer.json"];

    public IReadOnlyList<KeyValuePair<string, GgufValue>>? GetKeys(TokenizerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TokenizerFiles.Any(name => File.Exists(Path.Combine(request.Directory, name))))
        {
            return null;
        }
        if (!TokenizerFamilies.TryFromArchitecture(request.HfArchitecture, out var family))
        {
            throw new ConversionException($"no tokenizer import for architecture {request.HfArchitecture}");
        }
        var vocabSize = request.Config.Integer("vocab_size");
        return TokenizerImport.Read(request.Directory, family, vocabSize is null ? null : checked((int)vocabSize.Value));
    }
}
