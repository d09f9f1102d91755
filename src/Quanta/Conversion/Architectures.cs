using Quanta.Conversion.Architectures;

namespace Quanta.Conversion;

/// <summary>The Hugging Face <c>architectures</c> names Quanta converts, and the adapter for each.</summary>
public static class HfArchitectures
{
    static readonly LlamaAdapter Llama = new();

    static readonly Dictionary<string, ArchitectureAdapter> ByName = new(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = Llama,
        // llama.cpp converts Mistral's dense models as llama (same tensors, same rope).
        ["MistralForCausalLM"] = Llama,
        ["Qwen2ForCausalLM"] = new Qwen2Adapter(),
        ["Qwen3ForCausalLM"] = new Qwen3Adapter(),
        ["GemmaForCausalLM"] = new GemmaAdapter(),
        ["Gemma2ForCausalLM"] = new Gemma2Adapter(),
        ["Gemma3ForCausalLM"] = new Gemma3Adapter(),
        ["Phi3ForCausalLM"] = new Phi3Adapter(),
    };

    /// <summary>The supported names, sorted, for error messages and help.</summary>
    public static IReadOnlyList<string> Supported { get; } = [.. ByName.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The adapter for <paramref name="hfArchitecture"/>, or a <see cref="ConversionException"/> listing the supported ones.</summary>
    public static ArchitectureAdapter Get(string? hfArchitecture) =>
        hfArchitecture is not null && ByName.TryGetValue(hfArchitecture, out var adapter)
            ? adapter
            : throw new ConversionException(
                (hfArchitecture is null ? "config.json names no architecture (\"architectures\")" : $"architecture '{hfArchitecture}' is not supported")
                + $"; supported: {string.Join(", ", Supported)}");
}
