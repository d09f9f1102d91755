using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// One of llama.cpp's quantization presets (a <c>llama_ftype</c> as <c>llama-quantize</c> offers it): the
/// type most tensors get, and the name, aliases and description the command line shows.
/// </summary>
/// <param name="Name">llama.cpp's spelling, e.g. <c>Q4_K_M</c>.</param>
/// <param name="FileType">The <c>llama_ftype</c>; also accepted as a number when parsing.</param>
/// <param name="DefaultType">What <c>llama_ftype_get_default_type</c> returns: the type before any mix rule.</param>
/// <param name="Description">The <c>QUANT_OPTIONS</c> text: size and perplexity cost on Llama-3-8B, or bits per weight.</param>
/// <param name="Aliases">Other names llama-quantize accepts for this preset (<c>Q4_K</c> for Q4_K_M).</param>
/// <param name="RequiresImportanceMatrix">
/// True when planning this preset for a typical model yields tensors that llama.cpp refuses to quantize
/// without an importance matrix. The 2026 source decides per tensor (<see cref="QuantizationPlanEntry.RequiresImportanceMatrix"/>);
/// this flag is the preset-level summary for listings and early warnings.
/// </param>
/// <param name="IsCopy">COPY: every tensor is written as it is; the file type is taken from the input.</param>
public sealed record QuantizationPreset(
    string Name,
    LlamaFileType FileType,
    GgmlType DefaultType,
    string Description,
    IReadOnlyList<string> Aliases,
    bool RequiresImportanceMatrix,
    bool IsCopy = false)
{
    /// <summary>The number llama.cpp prints next to the name and writes to <c>general.file_type</c>.</summary>
    public int FileTypeNumber => (int)FileType;

    /// <summary>Whether the default type is a block-quantized one; F32/F16/BF16 presets skip the mix rules.</summary>
    public bool QuantizesByDefault => GgmlTypeInfo.Of(DefaultType).IsQuantized;

    public override string ToString() => Name;
}
