using Quanta.Formats;

namespace Quanta.Quantization;

/// <summary>
/// The <c>llama-quantize</c> switches that change which type a tensor gets (<c>llama_model_quantize_params</c>).
/// </summary>
public sealed record QuantizationOptions
{
    public static QuantizationOptions Default { get; } = new();

    /// <summary><c>--pure</c>: every quantizable tensor gets the preset's default type; no mix rules.</summary>
    public bool Pure { get; init; }

    /// <summary><c>--output-tensor-type</c>: the type of <c>output.weight</c>, used as given (no row-length fallback).</summary>
    public GgmlType? OutputTensorType { get; init; }

    /// <summary><c>--token-embedding-type</c>: the type of the token embeddings, used as given.</summary>
    public GgmlType? TokenEmbeddingType { get; init; }

    /// <summary><c>--tensor-type</c> overrides, in command-line order; the first that matches a name wins.</summary>
    public IReadOnlyList<TensorTypeOverride> TensorTypeOverrides { get; init; } = [];

    /// <summary><c>--leave-output-tensor</c>: write <c>output.weight</c> in its current type.</summary>
    public bool LeaveOutputTensor { get; init; }

    /// <summary>
    /// <c>--imatrix</c> was given (and kept some entries after <c>--include-weights</c> / <c>--exclude-weights</c>,
    /// as llama-quantize only passes a non-empty matrix on). Several rules choose differently with one (IQ3_XXS
    /// attn_v, IQ4_NL/IQ4_XS and Q4_0/Q5_0 ffn_down), and without one some types are refused. Set by
    /// <see cref="Importance"/>, or alone to plan as if a matrix were given.
    /// </summary>
    public bool HasImportanceMatrix
    {
        get => field || Importance is { Count: > 0 };
        init;
    }

    /// <summary>The importance matrix (<c>--imatrix</c>): per tensor, the weights every codec that takes them gets.</summary>
    public ImportanceWeights? Importance { get; init; }

    /// <summary>
    /// <c>--keep-split</c>: the output keeps the input's shards, and llama.cpp then visits the tensors in the
    /// input's order (shard, then offset) instead of sorting them by name. The mix rules count attn_v and ffn
    /// tensors in visit order, so this can change which layers get more bits.
    /// </summary>
    public bool KeepSplit { get; init; }

    /// <summary>
    /// <c>--vision-type</c>: the type of the vision tower's (<c>v.*</c>) eligible weights. Without it they are
    /// kept as they are in a single-file multimodal model and follow the preset in a projector (clip) file.
    /// </summary>
    public GgmlType? VisionType { get; init; }

    /// <summary><c>--projector-type</c>: the same for the multimodal projector (<c>mm.*</c>).</summary>
    public GgmlType? ProjectorType { get; init; }

    /// <summary>The explicit type for an image component, or null.</summary>
    public GgmlType? TypeFor(MultimodalComponent component) => component switch
    {
        MultimodalComponent.VisionTower => VisionType,
        MultimodalComponent.Projector => ProjectorType,
        _ => null,
    };
}
