using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// One block's weights, with the optional pieces the families add to llama's: q/k/v/output biases (qwen2, llama
/// with attention bias), per-head q/k norms (qwen3, gemma3), a fused QKV matrix (phi3), post-attention and
/// post-feed-forward norms (gemma2, gemma3), a fused gate|up matrix (phi3) or a mixture of experts instead of the
/// dense feed-forward. Each block also says how it attends: sliding window or not, and its rope base and scale.
/// </summary>
internal sealed class TransformerLayer
{
    public required float[] AttentionNorm { get; init; }

    /// <summary>Separate projections; null when <see cref="QueryKeyValue"/> holds them fused.</summary>
    public LinearWeights? Query { get; init; }

    public LinearWeights? Key { get; init; }

    public LinearWeights? Value { get; init; }

    /// <summary>phi3's <c>attn_qkv</c>: rows of Q, then K, then V.</summary>
    public LinearWeights? QueryKeyValue { get; init; }

    public float[]? QueryBias { get; init; }

    public float[]? KeyBias { get; init; }

    public float[]? ValueBias { get; init; }

    /// <summary>RMS norm weights applied to each query / key head before rope.</summary>
    public float[]? QueryNorm { get; init; }

    public float[]? KeyNorm { get; init; }

    public required LinearWeights AttentionOutput { get; init; }

    public float[]? AttentionOutputBias { get; init; }

    /// <summary>gemma2/3's norm of the attention output, before the residual add.</summary>
    public float[]? AttentionPostNorm { get; init; }

    public required float[] FeedForwardNorm { get; init; }

    /// <summary>The gate; null for phi3, whose <see cref="Up"/> holds gate and up rows fused.</summary>
    public LinearWeights? Gate { get; init; }

    public LinearWeights? Up { get; init; }

    public LinearWeights? Down { get; init; }

    /// <summary>Routed experts in place of <see cref="Gate"/>/<see cref="Up"/>/<see cref="Down"/>.</summary>
    public MixtureOfExperts? Experts { get; init; }

    /// <summary>gemma2/3's norm of the feed-forward output, before the residual add.</summary>
    public float[]? FeedForwardPostNorm { get; init; }

    /// <summary>Whether this block attends through the sliding window (<see cref="ArchitectureOptions.SlidingWindow"/>).</summary>
    public bool SlidingWindow { get; init; }

    /// <summary>Rope frequency base of this block (gemma3's local layers have their own).</summary>
    public required float RopeFreqBase { get; init; }

    public required float RopeFreqScale { get; init; }
}
