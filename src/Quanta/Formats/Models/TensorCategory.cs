namespace Quanta.Formats.Models;

/// <summary>
/// The broad role llama.cpp's mix rules give a tensor, judged from its name alone
/// (<c>tensor_get_category</c> in <c>src/llama-quant.cpp</c>, 2026 source).
/// </summary>
public enum TensorCategory
{
    Other,
    TokenEmbedding,
    AttentionQ,
    AttentionK,
    AttentionV,
    AttentionQkv,
    AttentionKvB,
    AttentionOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Output,
}

/// <summary>Classifies tensor names into <see cref="TensorCategory"/> values.</summary>
public static class TensorCategories
{
    /// <summary>
    /// The category of a tensor name. Checks run in llama.cpp's order, which matters: <c>attn_qkv.weight</c>
    /// must be tested before <c>attn_v.weight</c>'s substring test could see it, and <c>ffn_up</c> before
    /// <c>ffn_gate</c> / <c>ffn_down</c> (substrings, so expert tensors <c>ffn_up_exps</c> match too).
    /// </summary>
    public static TensorCategory Of(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "output.weight")
        {
            return TensorCategory.Output;
        }
        if (name is "token_embd.weight" or "per_layer_token_embd.weight")
        {
            return TensorCategory.TokenEmbedding;
        }
        if (Contains(name, "attn_qkv.weight"))
        {
            return TensorCategory.AttentionQkv;
        }
        if (Contains(name, "attn_kv_b.weight"))
        {
            return TensorCategory.AttentionKvB;
        }
        if (Contains(name, "attn_v.weight"))
        {
            return TensorCategory.AttentionV;
        }
        if (Contains(name, "attn_k.weight"))
        {
            return TensorCategory.AttentionK;
        }
        if (Contains(name, "attn_q.weight"))
        {
            return TensorCategory.AttentionQ;
        }
        if (Contains(name, "attn_output.weight"))
        {
            return TensorCategory.AttentionOutput;
        }
        if (Contains(name, "ffn_up"))
        {
            return TensorCategory.FfnUp;
        }
        if (Contains(name, "ffn_gate"))
        {
            return TensorCategory.FfnGate;
        }
        if (Contains(name, "ffn_down"))
        {
            return TensorCategory.FfnDown;
        }
        return TensorCategory.Other;
    }

    /// <summary>
    /// Fused QKV and MLA's kv_b projection carry the values, so llama.cpp gives them the attn_v treatment
    /// (more bits, and they count towards the attention-V counter).
    /// </summary>
    public static bool IsAttentionVLike(this TensorCategory category) =>
        category is TensorCategory.AttentionV or TensorCategory.AttentionQkv or TensorCategory.AttentionKvB;

    static bool Contains(string name, string part) => name.Contains(part, StringComparison.Ordinal);
}
