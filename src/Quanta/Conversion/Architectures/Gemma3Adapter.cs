using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>Gemma3ForCausalLM</c> (the text model; the converter's <c>Gemma3Model</c>, 2026 source): Gemma 2's
/// layout plus q/k norms (also stored as w + 1), defaults for fields the small configs omit, and the
/// embedding rows beyond the tokenizer's vocabulary dropped.
/// </summary>
public sealed class Gemma3Adapter : ArchitectureAdapter
{
    public override string Architecture => "gemma3";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = Gemma2Adapter.GemmaSandwichNorms(new(LlamaLayerTensors(), StringComparer.Ordinal)
    {
        ["self_attn.q_norm"] = "attn_q_norm",
        ["self_attn.k_norm"] = "attn_k_norm",
    });

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        var keys = new ArchitectureKeys(metadata, Architecture);
        keys.UInt32("context_length", c.Integer("max_position_embeddings") ?? 131072);
        keys.UInt32("embedding_length", c.RequireInteger("hidden_size"));
        keys.UInt32("block_count", c.RequireInteger("num_hidden_layers"));
        keys.UInt32("feed_forward_length", c.RequireInteger("intermediate_size"));
        keys.UInt32("attention.head_count", c.Integer("num_attention_heads") ?? 8);
        keys.Float32("attention.layer_norm_rms_epsilon", c.Number("rms_norm_eps") ?? 1e-6);
        keys.UInt32("attention.key_length", c.Integer("head_dim") ?? 256);
        keys.UInt32("attention.value_length", c.Integer("head_dim") ?? 256);
        keys.FileType(fileType);
        keys.Float32("rope.freq_base", c.Number("rope_theta") ?? 1_000_000.0);
        if (c.Has("attn_logit_softcapping"))
        {
            throw new ConversionException($"{c.Path}: Gemma 3 has no attention logit soft-capping, but attn_logit_softcapping is set");
        }
        keys.UInt32("attention.sliding_window", c.RequireInteger("sliding_window"));
        keys.UInt32("attention.head_count_kv", c.Integer("num_key_value_heads") ?? 4);
        if (c.Object("rope_scaling") is { } scaling)
        {
            if (scaling.String("rope_type") != "linear")
            {
                throw new ConversionException($"{c.Path}: Gemma 3 supports only linear rope scaling, not '{scaling.String("rope_type")}'");
            }
            keys.String("rope.scaling.type", "linear");
            keys.Float32("rope.scaling.factor", scaling.RequireNumber("factor"));
        }
    }

    public override TensorMapping? Map(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Contains("language_model.", StringComparison.Ordinal))
        {
            name = name.Replace("language_model.", "", StringComparison.Ordinal);
        }
        else if (name.StartsWith("multi_modal_projector.", StringComparison.Ordinal) || name.StartsWith("vision_tower.", StringComparison.Ordinal)
            || name.StartsWith("multimodal_projector.", StringComparison.Ordinal) || name.StartsWith("vision_model.", StringComparison.Ordinal))
        {
            // The vision tower belongs in the multimodal conversion, not in the text model.
            return null;
        }
        var mapping = base.Map(context, name);
        if (mapping is null)
        {
            return null;
        }
        if (name.Contains("embed_tokens.weight", StringComparison.Ordinal) && context.VocabularySize is { } vocabulary)
        {
            mapping = mapping with { KeepRows = vocabulary };
        }
        return name.EndsWith("norm.weight", StringComparison.Ordinal) ? mapping with { AddOne = true } : mapping;
    }
}
