using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// What llama.cpp has published about a preset's cost on Llama 3 8B: the file size, the perplexity increase
/// over FP16 and the mean KL divergence from FP16 logits on Wikitext-2 (<c>examples/perplexity/README.md</c>,
/// "LLaMA 3 8b Scoreboard", revision f364eb6f), and bits per weight on Llama 3.1 8B
/// (<c>tools/quantize/README.md</c>, 2026 source).
/// </summary>
/// <param name="FileType">The preset, by its file type (its name is <see cref="LlamaFileTypes"/>' name for it).</param>
/// <param name="SizeGiB">Llama-3-8B model size in GiB, or null when not published.</param>
/// <param name="PerplexityIncrease">ΔPPL over FP16 (Wikitext-2), or null.</param>
/// <param name="KlDivergence">Mean KL divergence from the FP16 logits, or null.</param>
/// <param name="WithImportanceMatrix">The figures were measured with an importance matrix (Wikitext, 10M tokens):
/// llama.cpp published the IQ types only that way.</param>
/// <param name="BitsPerWeight">Bits per weight on Llama 3.1 8B, or null.</param>
public sealed record PublishedQuality(
    LlamaFileType FileType,
    double? SizeGiB,
    double? PerplexityIncrease,
    double? KlDivergence,
    bool WithImportanceMatrix,
    double? BitsPerWeight);

/// <summary>The published figures, one entry per preset that has any.</summary>
public static class PublishedQualityFigures
{
    // Copied from llama.cpp's READMEs; rows without an importance matrix where both exist, since Quanta
    // quantizes without one today.
    static readonly PublishedQuality[] Figures =
    [
        new(LlamaFileType.MostlyF16, 14.97, 0.001524, 0.000551, false, 16.0005),
        new(LlamaFileType.MostlyQ8_0, 7.96, 0.002650, 0.001355, false, 8.5008),
        new(LlamaFileType.MostlyQ6_K, 6.14, 0.021748, 0.005452, false, 6.5633),
        new(LlamaFileType.MostlyQ5_K_M, 5.33, 0.056974, 0.010762, false, 5.7036),
        new(LlamaFileType.MostlyQ5_K_S, 5.21, 0.104964, 0.016595, false, 5.5704),
        new(LlamaFileType.MostlyQ5_1, 5.65, 0.106223, 0.018045, false, null),
        new(LlamaFileType.MostlyQ5_0, 5.21, 0.131591, 0.022239, false, null),
        new(LlamaFileType.MostlyQ4_K_M, 4.58, 0.175482, 0.031273, false, 4.8944),
        new(LlamaFileType.MostlyQ4_K_S, 4.37, 0.268895, 0.043136, false, 4.6672),
        new(LlamaFileType.MostlyQ4_1, 4.78, 0.451103, 0.071683, false, null),
        new(LlamaFileType.MostlyQ4_0, 4.34, 0.468514, 0.071940, false, null),
        new(LlamaFileType.MostlyQ3_K_L, 4.03, 0.556242, 0.087176, false, 4.2979),
        new(LlamaFileType.MostlyQ3_K_M, 3.74, 0.656864, 0.101913, false, null),
        new(LlamaFileType.MostlyQ3_K_S, 3.41, 1.632152, 0.228217, false, 3.6429),
        new(LlamaFileType.MostlyQ2_K, 2.96, 3.519934, 0.445132, false, 3.1593),
        new(LlamaFileType.MostlyQ2_K_S, 2.96, 3.092145, 0.403360, true, 2.9697),
        new(LlamaFileType.MostlyIQ4_NL, 4.35, 0.223959, 0.035742, true, 4.6818),
        new(LlamaFileType.MostlyIQ4_XS, 4.14, 0.228071, 0.036334, true, 4.4597),
        new(LlamaFileType.MostlyIQ3_M, 3.53, 0.666694, 0.102534, true, 3.7628),
        new(LlamaFileType.MostlyIQ3_S, 3.42, 0.733867, 0.111278, true, 3.6606),
        new(LlamaFileType.MostlyIQ3_XS, 3.28, 0.931409, 0.138693, true, 3.4977),
        new(LlamaFileType.MostlyIQ3_XXS, 3.05, 1.226803, 0.183625, true, 3.2548),
        new(LlamaFileType.MostlyIQ2_M, 2.74, 2.369166, 0.325989, true, 2.9294),
        new(LlamaFileType.MostlyIQ2_S, 2.56, 3.419148, 0.439197, true, 2.7403),
        new(LlamaFileType.MostlyIQ2_XS, 2.43, 4.529791, 0.546290, true, 2.5882),
        new(LlamaFileType.MostlyIQ2_XXS, 2.24, 7.860148, 0.812022, true, 2.3824),
        new(LlamaFileType.MostlyIQ1_M, 2.01, 19.262089, 1.393084, true, 2.1460),
        new(LlamaFileType.MostlyIQ1_S, 1.88, 54.462959, 2.254554, true, 2.0042),
    ];

    public static IReadOnlyList<PublishedQuality> All => Figures;

    /// <summary>The figures for a preset (none for COPY, whose output is its input), or null.</summary>
    public static PublishedQuality? For(QuantizationPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return preset.IsCopy ? null : Figures.FirstOrDefault(f => f.FileType == preset.FileType);
    }
}
