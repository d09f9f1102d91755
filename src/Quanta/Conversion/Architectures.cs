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

    /// <summary>Multimodal architectures: the text family's adapter and the vision tower's.</summary>
    static readonly Dictionary<string, (ArchitectureAdapter Text, VisionAdapter Vision)> Multimodal = new(StringComparer.Ordinal)
    {
        ["Gemma3ForConditionalGeneration"] = (new Gemma3Adapter(), new Gemma3VisionAdapter()),
        ["LlavaForConditionalGeneration"] = (Llama, new LlavaVisionAdapter()),
    };

    /// <summary>The supported names, sorted, for error messages and help.</summary>
    public static IReadOnlyList<string> Supported { get; } = [.. ByName.Keys.Concat(Multimodal.Keys).Order(StringComparer.Ordinal)];

    /// <summary>Whether <paramref name="hfArchitecture"/> has a vision tower Quanta converts.</summary>
    public static bool IsMultimodal(string? hfArchitecture) => hfArchitecture is not null && Multimodal.ContainsKey(hfArchitecture);

    /// <summary>The adapter for <paramref name="hfArchitecture"/>, or a <see cref="ConversionException"/> listing the supported ones.</summary>
    public static ArchitectureAdapter Get(string? hfArchitecture) => Get(hfArchitecture, MultimodalLayout.SingleFile);

    /// <summary>
    /// The adapter for the model file of <paramref name="hfArchitecture"/>; for a multimodal architecture, the
    /// text model with (<see cref="MultimodalLayout.SingleFile"/>) or without its image tensors.
    /// </summary>
    public static ArchitectureAdapter Get(string? hfArchitecture, MultimodalLayout layout)
    {
        if (hfArchitecture is not null && ByName.TryGetValue(hfArchitecture, out var adapter))
        {
            return adapter;
        }
        var (text, vision) = FindMultimodal(hfArchitecture);
        return new MultimodalTextAdapter(text, vision, layout);
    }

    /// <summary>The adapter for the projector (mmproj) file of a multimodal architecture.</summary>
    public static ArchitectureAdapter GetProjector(string? hfArchitecture)
    {
        if (hfArchitecture is not null && ByName.ContainsKey(hfArchitecture))
        {
            throw new ConversionException(
                $"--mmproj: '{hfArchitecture}' has no vision tower; multimodal architectures: {string.Join(", ", Multimodal.Keys.Order(StringComparer.Ordinal))}");
        }
        return new ProjectorAdapter(FindMultimodal(hfArchitecture).Vision);
    }

    static (ArchitectureAdapter Text, VisionAdapter Vision) FindMultimodal(string? hfArchitecture) =>
        hfArchitecture is not null && Multimodal.TryGetValue(hfArchitecture, out var pair)
            ? pair
            : throw new ConversionException(
                (hfArchitecture is null ? "config.json names no architecture (\"architectures\")"
                    : hfArchitecture.EndsWith("ForConditionalGeneration", StringComparison.Ordinal) ? $"multimodal architecture '{hfArchitecture}' is not supported"
                    : $"architecture '{hfArchitecture}' is not supported")
                + $"; supported: {string.Join(", ", Supported)}");
}
