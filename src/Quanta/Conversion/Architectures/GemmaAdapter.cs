using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>GemmaForCausalLM</c>: tied embeddings (an <c>lm_head.weight</c> some exporters add is dropped), norms
/// stored as w + 1, head size from <c>head_dim</c>, no rope keys (llama.cpp's defaults apply).
/// </summary>
public class GemmaAdapter : ArchitectureAdapter
{
    public override string Architecture => "gemma";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = LlamaLayerTensors();

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var keys = new ArchitectureKeys(metadata, Architecture);
        WriteGemmaParameters(context.Config, keys, fileType);
    }

    /// <summary>The keys Gemma and Gemma 2 share, in the converter's order.</summary>
    protected static void WriteGemmaParameters(HfConfig c, ArchitectureKeys keys, uint fileType)
    {
        keys.UInt32("context_length", c.RequireInteger("max_position_embeddings"));
        keys.UInt32("embedding_length", c.RequireInteger("hidden_size"));
        keys.UInt32("block_count", c.RequireInteger("num_hidden_layers"));
        keys.UInt32("feed_forward_length", c.RequireInteger("intermediate_size"));
        keys.UInt32("attention.head_count", c.RequireInteger("num_attention_heads"));
        keys.UInt32("attention.head_count_kv", c.Integer("num_key_value_heads") ?? c.RequireInteger("num_attention_heads"));
        keys.Float32("attention.layer_norm_rms_epsilon", c.RequireNumber("rms_norm_eps"));
        keys.UInt32("attention.key_length", c.RequireInteger("head_dim"));
        keys.UInt32("attention.value_length", c.RequireInteger("head_dim"));
        keys.FileType(fileType);
    }

    public override TensorMapping? Map(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // llama.cpp reads the output projection from the embeddings; an lm_head copy would only waste space.
        if (name == "lm_head.weight")
        {
            return null;
        }
        var mapping = base.Map(context, name);
        return mapping is not null && name.EndsWith("norm.weight", StringComparison.Ordinal) ? mapping with { AddOne = true } : mapping;
    }
}

/// <summary><c>Gemma2ForCausalLM</c>: Gemma plus sandwich norms, logit soft-capping and a sliding window.</summary>
public sealed class Gemma2Adapter : GemmaAdapter
{
    public override string Architecture => "gemma2";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = GemmaSandwichNorms(LlamaLayerTensors());

    /// <summary>
    /// Gemma 2 and 3 normalise before and after both attention and feed-forward; their
    /// <c>post_attention_layernorm</c> is a post-norm, not llama's pre-FFN norm.
    /// </summary>
    internal static Dictionary<string, string> GemmaSandwichNorms(Dictionary<string, string> names)
    {
        names["post_attention_layernorm"] = "post_attention_norm";
        names["pre_feedforward_layernorm"] = "ffn_norm";
        names["post_feedforward_layernorm"] = "post_ffw_norm";
        return names;
    }

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        var keys = new ArchitectureKeys(metadata, Architecture);
        WriteGemmaParameters(c, keys, fileType);
        keys.Float32("attn_logit_softcapping", c.RequireNumber("attn_logit_softcapping"));
        keys.Float32("final_logit_softcapping", c.RequireNumber("final_logit_softcapping"));
        keys.UInt32("attention.sliding_window", c.RequireInteger("sliding_window"));
    }
}
