using Quanta.Formats.Gguf;

namespace Quanta.Conversion;

/// <summary>What a tokenizer import is given: the checkpoint directory and the architecture it converts as.</summary>
/// <param name="Directory">The checkpoint directory (tokenizer.model, tokenizer.json, tokenizer_config.json ...).</param>
/// <param name="HfArchitecture">config.json's <c>architectures[0]</c>: the converter's vocabulary rules differ per family.</param>
/// <param name="Architecture">The GGUF architecture (<c>llama</c>, <c>gemma</c> ...).</param>
/// <param name="Config">config.json.</param>
public sealed record TokenizerRequest(string Directory, string HfArchitecture, string Architecture, HfConfig Config);

/// <summary>
/// The seam between conversion and tokenizer import: returns the <c>tokenizer.*</c> keys, in the converter's
/// order and types, that <c>set_vocab</c> writes for a checkpoint. The conversion places them after the
/// architecture keys and before <c>general.quantization_version</c>.
/// </summary>
public interface ITokenizerKeysSource
{
    /// <summary>The keys, or null when the directory has no tokenizer files this source understands.</summary>
    IReadOnlyList<KeyValuePair<string, GgufValue>>? GetKeys(TokenizerRequest request);
}
