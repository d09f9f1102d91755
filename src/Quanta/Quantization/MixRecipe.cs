using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// A per-tensor type assignment recorded in a GGUF file's metadata so that the file can be made again with
/// <c>quanta quantize BASE OUT PRESET --tensor-type-file FILE.gguf</c>: the preset (<c>quantize.mix.preset</c>)
/// and the <c>--tensor-type</c> rules (<c>quantize.mix.tensor_types</c>, in the text form a
/// <c>--tensor-type-file</c> holds: <c>PATTERN=TYPE</c> entries separated by spaces, first match wins). The keys are
/// plain strings that llama.cpp and Ollama ignore. They are written as metadata overrides after the user's own
/// <c>--override-kv</c> switches, so a reproduction writes them in the same place and the bytes match.
/// </summary>
public sealed record MixRecipe(string Preset, IReadOnlyList<TensorTypeOverride> Rules)
{
    public const string PresetKey = "quantize.mix.preset";

    public const string TensorTypesKey = "quantize.mix.tensor_types";

    /// <summary>The rules as a <c>--tensor-type-file</c> holds them.</summary>
    public string RulesText => string.Join(' ', Rules.Select(r => r.ToString()));

    /// <summary>The metadata keys, in the order they are written.</summary>
    public IReadOnlyList<MetadataOverride> MetadataKeys() =>
    [
        MetadataOverride.Of(PresetKey, GgufValue.String(Preset)),
        MetadataOverride.Of(TensorTypesKey, GgufValue.String(RulesText)),
    ];

    /// <summary>The recipe a file holds, or null when it has none.</summary>
    /// <exception cref="FormatException">The keys are there but a rule does not parse.</exception>
    public static MixRecipe? Read(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.LenientString(TensorTypesKey) is not { } text)
        {
            return null;
        }
        return new MixRecipe(metadata.LenientString(PresetKey) ?? "", ParseRules(text));
    }

    /// <summary>Parses <c>--tensor-type-file</c> text: <c>PATTERN=TYPE</c> entries separated by white space.</summary>
    /// <exception cref="FormatException">An entry does not parse.</exception>
    public static IReadOnlyList<TensorTypeOverride> ParseRules(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rules = new List<TensorTypeOverride>();
        foreach (var entry in text.Split((char[])[' ', '\t', '\r', '\n', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                rules.Add(TensorTypeOverride.Parse(entry));
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message.Split(" (Parameter", 2)[0], e);
            }
        }
        return rules;
    }
}
