namespace Quanta.Inference.Models;

/// <summary>
/// What differs between the families' graphs beyond which tensors a block has, each as the family's
/// <c>build_*</c> function in llama.cpp sets it.
/// </summary>
internal sealed record ArchitectureOptions
{
    /// <summary>NeoX rope (pairs i, i + n/2: gemma, qwen2, phi3) rather than llama's adjacent pairs.</summary>
    public bool NeoxRope { get; init; }

    /// <summary>Gemma multiplies the embeddings by √n_embd.</summary>
    public bool ScaleEmbeddings { get; init; }

    /// <summary>A scale the queries get after rope (gemma, phi3), 1 for none.</summary>
    public float QueryScale { get; init; } = 1f;

    /// <summary>The softmax's <c>kq_scale</c>.</summary>
    public float KqScale { get; init; } = 1f;

    /// <summary>gemma2's attention logit soft-capping (0: none).</summary>
    public float AttentionSoftcap { get; init; }

    /// <summary>gemma2's final logit soft-capping (0: none).</summary>
    public float FinalSoftcap { get; init; }

    /// <summary>Sliding window in positions (<c>n_swa</c>): a cell is masked when query position − cell position ≥ it.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>GELU (gemma) rather than SiLU gating in the feed-forward.</summary>
    public bool Gelu { get; init; }

    /// <summary>Per-pair rope frequency factors for every block: llama3's <c>rope_freqs</c>; phi3 picks long or short.</summary>
    public float[]? RopeFactors { get; init; }

    /// <summary>phi3's LongRoPE: factors used when the context is longer than <see cref="RopeOriginalContext"/>.</summary>
    public float[]? RopeFactorsLong { get; init; }

    public int RopeOriginalContext { get; init; }

    /// <summary><c>rope.scaling.attn_factor</c>: the magnitude ggml multiplies into cos and sin.</summary>
    public float RopeAttentionFactor { get; init; } = 1f;

    /// <summary>The rope factors for a sequence of <paramref name="contextLength"/> positions (llama.cpp's <c>build_rope_factors</c>).</summary>
    public float[]? RopeFactorsFor(int contextLength) =>
        RopeFactorsLong is not null && contextLength > RopeOriginalContext ? RopeFactorsLong : RopeFactors;
}
