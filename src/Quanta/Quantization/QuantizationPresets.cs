using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// The presets <c>llama-quantize</c> accepts (<c>QUANT_OPTIONS</c> in <c>tools/quantize/quantize.cpp</c>, 2026
/// source), plus NVFP4, which <c>include/llama.h</c> defines (39) but the tool's table does not list.
/// </summary>
public static class QuantizationPresets
{
    static readonly string[] None = [];

    // Order follows llama.cpp's ftype numbers so listings read like llama-quantize's usage text; COPY last,
    // as in QUANT_OPTIONS, so that the number 0 means F32 and not COPY.
    static readonly QuantizationPreset[] AllPresets =
    [
        Preset(LlamaFileType.AllF32, GgmlType.F32, "26.00G              @ 7B", None, false),
        Preset(LlamaFileType.MostlyF16, GgmlType.F16, "14.00G, +0.0020 ppl @ Mistral-7B", None, false),
        Preset(LlamaFileType.MostlyQ4_0, GgmlType.Q4_0, " 4.34G, +0.4685 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ4_1, GgmlType.Q4_1, " 4.78G, +0.4511 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ8_0, GgmlType.Q8_0, " 7.96G, +0.0026 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ5_0, GgmlType.Q5_0, " 5.21G, +0.1316 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ5_1, GgmlType.Q5_1, " 5.65G, +0.1062 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ2_K, GgmlType.Q2_K, " 2.96G, +3.5199 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ3_K_S, GgmlType.Q3_K, " 3.41G, +1.6321 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ3_K_M, GgmlType.Q3_K, " 3.74G, +0.6569 ppl @ Llama-3-8B", ["Q3_K"], false),
        Preset(LlamaFileType.MostlyQ3_K_L, GgmlType.Q3_K, " 4.03G, +0.5562 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ4_K_S, GgmlType.Q4_K, " 4.37G, +0.2689 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ4_K_M, GgmlType.Q4_K, " 4.58G, +0.1754 ppl @ Llama-3-8B", ["Q4_K"], false),
        Preset(LlamaFileType.MostlyQ5_K_S, GgmlType.Q5_K, " 5.21G, +0.1049 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyQ5_K_M, GgmlType.Q5_K, " 5.33G, +0.0569 ppl @ Llama-3-8B", ["Q5_K"], false),
        Preset(LlamaFileType.MostlyQ6_K, GgmlType.Q6_K, " 6.14G, +0.0217 ppl @ Llama-3-8B", None, false),
        Preset(LlamaFileType.MostlyIQ2_XXS, GgmlType.IQ2_XXS, " 2.06 bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ2_XS, GgmlType.IQ2_XS, " 2.31 bpw quantization", None, true),
        // Q2_K tensors inside a Q2_K_S file need an importance matrix (tensor_requires_imatrix).
        Preset(LlamaFileType.MostlyQ2_K_S, GgmlType.Q2_K, " 2.96G, +3.1836 ppl @ Llama-3-8B", None, true),
        // IQ3_XS is an IQ3_S file whose attn_q/attn_k and middle ffn_gate/ffn_up go to IQ3_XXS, which the
        // 2026 source refuses to write without an importance matrix.
        Preset(LlamaFileType.MostlyIQ3_XS, GgmlType.IQ3_S, " 3.3 bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ3_XXS, GgmlType.IQ3_XXS, " 3.06 bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ1_S, GgmlType.IQ1_S, " 1.56 bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ4_NL, GgmlType.IQ4_NL, " 4.50 bpw non-linear quantization", None, false),
        Preset(LlamaFileType.MostlyIQ3_S, GgmlType.IQ3_S, " 3.44 bpw quantization", None, false),
        Preset(LlamaFileType.MostlyIQ3_M, GgmlType.IQ3_S, " 3.66 bpw quantization mix", None, false),
        Preset(LlamaFileType.MostlyIQ2_S, GgmlType.IQ2_XS, " 2.5  bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ2_M, GgmlType.IQ2_S, " 2.7  bpw quantization", None, true),
        Preset(LlamaFileType.MostlyIQ4_XS, GgmlType.IQ4_XS, " 4.25 bpw non-linear quantization", None, false),
        Preset(LlamaFileType.MostlyIQ1_M, GgmlType.IQ1_M, " 1.75 bpw quantization", None, true),
        Preset(LlamaFileType.MostlyBF16, GgmlType.BF16, "14.00G, -0.0050 ppl @ Mistral-7B", None, false),
        Preset(LlamaFileType.MostlyTQ1_0, GgmlType.TQ1_0, " 1.69 bpw ternarization", None, false),
        Preset(LlamaFileType.MostlyTQ2_0, GgmlType.TQ2_0, " 2.06 bpw ternarization", None, false),
        Preset(LlamaFileType.MostlyMXFP4_MoE, GgmlType.MXFP4, " MXFP4 MoE", None, false),
        Preset(LlamaFileType.MostlyNVFP4, GgmlType.NVFP4, " 4.50 bpw NVFP4 (not in llama-quantize's list)", None, false),
        Preset(LlamaFileType.MostlyQ1_0, GgmlType.Q1_0, " 1.125 bpw quantization", None, false),
        Preset(LlamaFileType.MostlyQ2_0, GgmlType.Q2_0, " 2.25 bpw quantization (group 64)", None, false),
        // COPY's ftype is ALL_F32 in QUANT_OPTIONS, but nothing is converted: the output keeps the input's
        // general.file_type and every tensor as it is.
        new("COPY", LlamaFileType.AllF32, GgmlType.F32, "only copy tensors, no quantizing", None, false, IsCopy: true),
    ];

    static readonly Dictionary<string, QuantizationPreset> ByName = BuildNameIndex();

    /// <summary>A preset named as <see cref="LlamaFileTypes"/> names its file type, so the two cannot disagree.</summary>
    static QuantizationPreset Preset(LlamaFileType fileType, GgmlType defaultType, string description, IReadOnlyList<string> aliases, bool requiresImportanceMatrix) =>
        new(LlamaFileTypes.Of(fileType).Name, fileType, defaultType, description, aliases, requiresImportanceMatrix);

    /// <summary>Every preset, in llama.cpp's ftype order, COPY last.</summary>
    public static IReadOnlyList<QuantizationPreset> All => AllPresets;

    /// <summary>
    /// The preset with this name or alias (any case: <c>q4_k_m</c>, <c>Q4_K</c>) or llama.cpp number
    /// (<c>15</c>); throws <see cref="ArgumentException"/> listing the valid names when there is none.
    /// </summary>
    public static QuantizationPreset Parse(string text) =>
        TryParse(text, out var preset)
            ? preset
            : throw new ArgumentException(UnknownMessage(text), nameof(text));

    /// <summary>Like <see cref="Parse"/>, without throwing.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out QuantizationPreset? preset)
    {
        preset = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var trimmed = text.Trim();
        if (ByName.TryGetValue(trimmed, out preset))
        {
            return true;
        }
        // Names are tried before numbers, as llama-quantize does; COPY has no number of its own, so 0 is F32.
        if (int.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            preset = AllPresets.FirstOrDefault(p => !p.IsCopy && p.FileTypeNumber == number);
        }
        return preset is not null;
    }

    /// <summary>The preset for a file type; the inverse of <see cref="QuantizationPreset.FileType"/> (never COPY).</summary>
    public static QuantizationPreset Of(LlamaFileType fileType) =>
        AllPresets.FirstOrDefault(p => !p.IsCopy && p.FileType == fileType)
        ?? throw new ArgumentOutOfRangeException(nameof(fileType), fileType, "not a llama.cpp file type");

    static string UnknownMessage(string? text)
    {
        var names = string.Join(", ", AllPresets.Select(p => p.IsCopy ? p.Name : $"{p.Name} ({p.FileTypeNumber})"));
        var aliases = string.Join(", ", AllPresets.SelectMany(p => p.Aliases.Select(a => $"{a} = {p.Name}")));
        return $"unknown quantization type '{text}'. Valid types (name or number, any case): {names}; aliases: {aliases}.";
    }

    static Dictionary<string, QuantizationPreset> BuildNameIndex()
    {
        var index = new Dictionary<string, QuantizationPreset>(StringComparer.OrdinalIgnoreCase);
        foreach (var preset in AllPresets)
        {
            index.Add(preset.Name, preset);
            foreach (var alias in preset.Aliases)
            {
                index.Add(alias, preset);
            }
        }
        return index;
    }
}
