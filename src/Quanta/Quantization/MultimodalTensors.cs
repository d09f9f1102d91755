using Quanta.Formats;
using Quanta.Formats.Models;

namespace Quanta.Quantization;

/// <summary>The part of a multimodal model a tensor belongs to, judged from its name.</summary>
public enum MultimodalComponent
{
    /// <summary>The language model (or anything that is neither of the others).</summary>
    None,

    /// <summary>The vision tower: <c>v.*</c> (patch and position embeddings, ViT blocks, post norm).</summary>
    VisionTower,

    /// <summary>The projector that maps image features into the language model's space: <c>mm.*</c>.</summary>
    Projector,
}

/// <summary>
/// How Quanta treats the image side of a model. Two layouts exist:
/// <list type="bullet">
/// <item>a separate projector file (llava's and llama.cpp's "mmproj": <c>general.architecture = clip</c>, only
/// <c>v.*</c> and <c>mm.*</c> tensors), which the preset quantizes;</item>
/// <item>a single file that holds the language model and its vision tower and projector (Ollama's gemma3,
/// mistral3, ... layout), where the image tensors are left as they are, as Ollama does, unless
/// <c>--vision-type</c> / <c>--projector-type</c> ask for a type.</item>
/// </list>
/// Either way an image tensor is quantized under the rules of llama.cpp's clip quantizer
/// (<c>clip_model_quantize</c>): only 2-D weights whose row is longer than one block, <c>*embd*</c> tables kept at
/// Q8_0 or better, and, unlike that quantizer (and llama.cpp 2026, which throws for types without a fallback),
/// a row that does not divide into blocks falls back instead of aborting the whole file.
/// </summary>
public static class MultimodalTensors
{
    /// <summary>The architecture llama.cpp's converters give projector (mmproj) files.</summary>
    public const string ClipArchitecture = ModelHyperparameters.ClipArchitecture;

    public static MultimodalComponent ComponentOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.StartsWith("v.", StringComparison.Ordinal))
        {
            return MultimodalComponent.VisionTower;
        }
        return name.StartsWith("mm.", StringComparison.Ordinal) ? MultimodalComponent.Projector : MultimodalComponent.None;
    }

    /// <summary>
    /// Why an image tensor that llama.cpp's skip list lets through still stays as it is, or null when it may be
    /// quantized to <paramref name="type"/>. Ollama's names for the patch and position embeddings are skipped
    /// like llama.cpp's. The clip quantizer only takes 2-D matrices (convolution kernels and
    /// stacked tensors stay exact) and only rows longer than one block of the target: a row of one block or less
    /// saves next to nothing and costs the most precision.
    /// </summary>
    public static string? WhyNotQuantized(string name, IReadOnlyList<long> shape, GgmlType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        // llama.cpp's skip list knows the mmproj spellings (.position_embd, .patch_embd); Ollama's single-file
        // models spell them out (v.position_embedding.weight, v.patch_embedding.weight), and these tables are
        // kept exact whatever they are called.
        if (name.Contains("position_embedding", StringComparison.Ordinal))
        {
            return "multimodal position embeddings";
        }
        if (name.Contains("patch_embedding", StringComparison.Ordinal))
        {
            return "multimodal patch embeddings";
        }
        var dimensions = TensorTypeRules.DimensionCount(shape);
        if (dimensions != 2)
        {
            return $"{dimensions}-D tensor (image weights are quantized only as 2-D matrices)";
        }
        var block = GgmlTypeInfo.Of(type).BlockElements;
        return shape[0] <= block
            ? $"row of {shape[0]} is not longer than one {GgmlTypeInfo.Of(type).Name} block ({block})"
            : null;
    }

    /// <summary>
    /// The clip quantizer's rule for embedding tables (<c>*embd*</c> in the name): a K-quant or any later ggml
    /// type (id ≥ Q2_K) becomes Q8_0, because those tables are read with <c>get_rows</c>, which the vision
    /// runtimes supported only for the legacy block types. Types below Q2_K (Q4_0 ... Q8_1) and float types
    /// stay as asked.
    /// </summary>
    public static bool ForcesQ8_0(string name, GgmlType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Contains("embd", StringComparison.Ordinal)
            && GgmlTypeInfo.Of(type).IsQuantized
            && (int)type >= (int)GgmlType.Q2_K
            && type != GgmlType.Q8_0;
    }

    /// <summary>
    /// The type an image tensor's row can take: the target when the row holds whole blocks, else llama.cpp's
    /// 2026 fallback table, else F16. Where llama.cpp defines no fallback (Q4_0, Q8_0, ...) it throws; an image
    /// file then failed as a whole (the abort llava users met with SigLIP's 4304-wide rows in llamafile), so
    /// here the tensor goes to F16 instead and the rest of the file is still quantized.
    /// </summary>
    public static GgmlType ResolveRow(GgmlType target, long rowLength)
    {
        if (TensorTypeFallback.Fits(target, rowLength))
        {
            return target;
        }
        var fallback = TensorTypeFallback.FallbackOf(target) ?? GgmlType.F16;
        return TensorTypeFallback.Fits(fallback, rowLength) ? fallback : GgmlType.F16;
    }
}
