using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>Phi3ForCausalLM</c> (the converter's <c>Phi3MiniModel</c>): fused <c>qkv_proj</c> and
/// <c>gate_up_proj</c> kept fused (llama.cpp splits them at load time), a sliding window of 0 when the
/// config has none, and LongRoPE factors as generated tensors.
/// </summary>
public sealed class Phi3Adapter : ArchitectureAdapter
{
    public override string Architecture => "phi3";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = new Dictionary<string, string>(LlamaLayerTensors(), StringComparer.Ordinal)
    {
        ["self_attn.qkv_proj"] = "attn_qkv",
        ["mlp.gate_up_proj"] = "ffn_up",
    };

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        var keys = new ArchitectureKeys(metadata, Architecture);
        var embedding = c.RequireInteger("hidden_size", "n_embd");
        var heads = c.RequireInteger("num_attention_heads", "n_head");
        keys.UInt32("context_length", c.RequireInteger("n_positions", "max_position_embeddings"));
        keys.UInt32("rope.scaling.original_context_length", c.RequireInteger("original_max_position_embeddings"));
        keys.UInt32("embedding_length", embedding);
        keys.UInt32("feed_forward_length", c.RequireInteger("intermediate_size"));
        keys.UInt32("block_count", c.RequireInteger("num_hidden_layers", "n_layer"));
        keys.UInt32("attention.head_count", heads);
        keys.UInt32("attention.head_count_kv", c.RequireInteger("num_key_value_heads", "n_head_kv"));
        keys.Float32("attention.layer_norm_rms_epsilon", c.RequireNumber("rms_norm_eps"));
        keys.UInt32("rope.dimension_count", embedding / heads);
        keys.Float32("rope.freq_base", c.RequireNumber("rope_theta"));
        keys.FileType(fileType);
        // 0 marks "no sliding window" (how llama.cpp tells Phi-4 from Phi-3).
        keys.UInt32("attention.sliding_window", c.Integer("sliding_window") ?? 0);
    }

    public override IEnumerable<ConvertedTensor> ExtraTensors(ConversionContext context, GgufMetadata earlyMetadata)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        if (c.Object("rope_scaling") is not { } scaling)
        {
            yield break;
        }
        var embedding = c.RequireInteger("hidden_size", "n_embd");
        var heads = c.RequireInteger("num_attention_heads", "n_head");
        var maxPositions = (double)c.RequireInteger("n_positions", "max_position_embeddings");
        var original = (double)c.RequireInteger("original_max_position_embeddings");
        var scale = maxPositions / original;
        var type = scaling.String("type")?.ToLowerInvariant() ?? "";
        double attentionFactor = type switch
        {
            "" => throw new ConversionException($"{c.Path}: rope_scaling has no 'type'"),
            "su" or "longrope" => scale > 1.0 ? Math.Sqrt(1 + (Math.Log(scale) / Math.Log(original))) : 1.0,
            "yarn" => scale > 1.0 ? (0.1 * Math.Log(scale)) + 1.0 : 1.0,
            _ => throw new ConversionException($"{c.Path}: rope scaling type '{type}' is not supported"),
        };
        new ArchitectureKeys(earlyMetadata, Architecture).Float32("rope.scaling.attn_factor", attentionFactor);
        var longFactors = scaling.Numbers("long_factor");
        var shortFactors = scaling.Numbers("short_factor");
        if (longFactors is null || shortFactors is null)
        {
            throw new ConversionException($"{c.Path}: rope_scaling needs long_factor and short_factor");
        }
        if (longFactors.Length != shortFactors.Length || longFactors.Length * 2 != embedding / heads)
        {
            throw new ConversionException($"{c.Path}: rope long and short factors must have {embedding / heads / 2} entries each");
        }
        yield return ConvertedTensor.Generated("rope_factors_long.weight", [.. longFactors.Select(f => (float)f)]);
        yield return ConvertedTensor.Generated("rope_factors_short.weight", [.. shortFactors.Select(f => (float)f)]);
    }
}
