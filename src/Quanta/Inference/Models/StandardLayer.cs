namespace Quanta.Inference.Models;

/// <summary>
/// The block most families share (llama's <c>attn_norm</c>, <c>attn_q/k/v/output</c>, <c>ffn_norm</c>,
/// <c>ffn_gate/up/down</c>, or routed experts when the file has <c>ffn_gate_inp</c>), with the variations as switches.
/// </summary>
internal static class StandardLayer
{
    /// <summary>Which optional tensors a family's block has.</summary>
    internal sealed record Parts
    {
        /// <summary>q/k/v biases: required (qwen2), optional (llama) or absent.</summary>
        public Presence Biases { get; init; } = Presence.Absent;

        public bool QueryKeyNorms { get; init; }

        public bool PostNorms { get; init; }

        /// <summary>qwen2moe's experts: weights not renormalised, and a shared expert.</summary>
        public bool Qwen2Experts { get; init; }
    }

    internal enum Presence
    {
        Absent,
        Optional,
        Required,
    }

    public static TransformerLayer Load(ModelTensors tensors, TransformerHyperparameters hp, int layer, Parts parts, bool slidingWindow, float ropeFreqBase, float ropeFreqScale)
    {
        var e = hp.EmbeddingLength;
        var q = hp.HeadCount * hp.KeyLength;
        var k = hp.KvHeadCount * hp.KeyLength;
        var v = hp.KvHeadCount * hp.ValueLength;
        string Name(string part, string kind = "weight") => $"blk.{layer}.{part}.{kind}";
        float[]? Bias(string part, int length) => parts.Biases switch
        {
            Presence.Required => tensors.Vector(Name(part, "bias"), length),
            Presence.Optional => tensors.OptionalVector(Name(part, "bias"), length),
            _ => null,
        };
        var moe = parts.Qwen2Experts || (hp.ExpertCount > 0 && tensors.File.FindTensor(Name("ffn_gate_inp")) is not null);
        return new TransformerLayer
        {
            AttentionNorm = tensors.Vector(Name("attn_norm"), e),
            Query = tensors.Matrix(Name("attn_q"), e, q),
            Key = tensors.Matrix(Name("attn_k"), e, k),
            Value = tensors.Matrix(Name("attn_v"), e, v),
            QueryBias = Bias("attn_q", q),
            KeyBias = Bias("attn_k", k),
            ValueBias = Bias("attn_v", v),
            QueryNorm = parts.QueryKeyNorms ? tensors.Vector(Name("attn_q_norm"), hp.KeyLength) : null,
            KeyNorm = parts.QueryKeyNorms ? tensors.Vector(Name("attn_k_norm"), hp.KeyLength) : null,
            AttentionOutput = tensors.Matrix(Name("attn_output"), hp.HeadCount * hp.ValueLength, e),
            AttentionOutputBias = parts.Biases == Presence.Optional ? tensors.OptionalVector(Name("attn_output", "bias"), e) : null,
            AttentionPostNorm = parts.PostNorms ? tensors.Vector(Name("post_attention_norm"), e) : null,
            FeedForwardNorm = tensors.Vector(Name("ffn_norm"), e),
            Gate = moe ? null : tensors.Matrix(Name("ffn_gate"), e, hp.FeedForwardLength),
            Up = moe ? null : tensors.Matrix(Name("ffn_up"), e, hp.FeedForwardLength),
            Down = moe ? null : tensors.Matrix(Name("ffn_down"), hp.FeedForwardLength, e),
            Experts = moe ? MixtureOfExperts.Load(tensors, hp, layer, parts.Qwen2Experts) : null,
            FeedForwardPostNorm = parts.PostNorms ? tensors.Vector(Name("post_ffw_norm"), e) : null,
            SlidingWindow = slidingWindow,
            RopeFreqBase = ropeFreqBase,
            RopeFreqScale = ropeFreqScale,
        };
    }
}
