using System.Text.RegularExpressions;
using Quanta.Formats.Gguf;

namespace Quanta.Conversion;

/// <summary>
/// One Hugging Face architecture family as llama.cpp's <c>convert_hf_to_gguf.py</c> converts it: the GGUF
/// architecture name, the metadata keys in the converter's order and value types, the tensor names
/// (<c>gguf-py</c>'s <c>TensorNameMap</c>, restricted to the tensors the architecture has) and the weight
/// transforms. Adapters hold no state; a <see cref="ConversionContext"/> carries the checkpoint's facts.
/// </summary>
public abstract partial class ArchitectureAdapter
{
    /// <summary><c>general.architecture</c>, e.g. <c>llama</c>.</summary>
    public abstract string Architecture { get; }

    /// <summary><c>general.type</c>: <c>model</c>, or <c>mmproj</c> for a projector file.</summary>
    public virtual string GgufType => "model";

    /// <summary>
    /// The config this part of the checkpoint is converted from: config.json itself, or for the text half of a
    /// multimodal model config.json with <c>text_config</c> lifted to the top, as the converter does.
    /// </summary>
    public virtual HfConfig ConfigFor(HfConfig config) => config;

    /// <summary>
    /// Per-layer HF module names (after <c>model.layers.N.</c>) and their GGUF names (after <c>blk.N.</c>).
    /// </summary>
    protected abstract IReadOnlyDictionary<string, string> LayerTensors { get; }

    /// <summary>Writes the architecture's keys (<c>set_gguf_parameters</c>), <c>general.file_type</c> among them.</summary>
    public abstract void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType);

    /// <summary>
    /// Tensors the converter makes itself before the checkpoint's (<c>generate_extra_tensors</c>). Keys they
    /// write land right after <c>general.architecture</c>, since the converter runs this before the rest.
    /// </summary>
    public virtual IEnumerable<ConvertedTensor> ExtraTensors(ConversionContext context, GgufMetadata earlyMetadata) => [];

    /// <summary>What happens to one checkpoint tensor: its mapping, or null to leave it out.</summary>
    public virtual TensorMapping? Map(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // Buffers some exporters save that no model reads (the converter drops them by these suffixes).
        if (name.EndsWith(".attention.masked_bias", StringComparison.Ordinal)
            || name.EndsWith(".attention.bias", StringComparison.Ordinal)
            || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal))
        {
            return null;
        }
        return new TensorMapping(GgufName(name));
    }

    /// <summary>The GGUF name of an HF tensor, or a <see cref="ConversionException"/> like the converter's "Can not map tensor".</summary>
    protected string GgufName(string name)
    {
        switch (name)
        {
            case "model.embed_tokens.weight":
                return "token_embd.weight";
            case "model.norm.weight":
                return "output_norm.weight";
            case "lm_head.weight":
                return "output.weight";
        }
        var match = LayerName().Match(name);
        if (match.Success && LayerTensors.TryGetValue(match.Groups[2].Value, out var ggufName))
        {
            return $"blk.{match.Groups[1].Value}.{ggufName}.{match.Groups[3].Value}";
        }
        throw new ConversionException($"cannot map tensor '{name}' to a GGUF name for architecture {Architecture}");
    }

    [GeneratedRegex(@"^model\.layers\.(0|[1-9][0-9]{0,5})\.(.+)\.(weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex LayerName();

    /// <summary>The names every llama-like family shares.</summary>
    protected static Dictionary<string, string> LlamaLayerTensors() => new(StringComparer.Ordinal)
    {
        ["input_layernorm"] = "attn_norm",
        ["self_attn.q_proj"] = "attn_q",
        ["self_attn.k_proj"] = "attn_k",
        ["self_attn.v_proj"] = "attn_v",
        ["self_attn.o_proj"] = "attn_output",
        ["post_attention_layernorm"] = "ffn_norm",
        ["mlp.gate_proj"] = "ffn_gate",
        ["mlp.up_proj"] = "ffn_up",
        ["mlp.down_proj"] = "ffn_down",
    };

    /// <summary>
    /// <c>Model.set_gguf_parameters</c> (February 2025 source), the base most families extend: each key only
    /// when config.json has the field, in this order.
    /// </summary>
    protected static void WriteCommonParameters(ConversionContext context, ArchitectureKeys keys, uint fileType)
    {
        var c = context.Config;
        keys.UInt32("block_count", c.RequireInteger("n_layers", "num_hidden_layers", "n_layer", "num_layers"));
        if (c.Find("max_position_embeddings", "n_ctx") is { } ctx)
        {
            keys.UInt32("context_length", c.RequireInteger(ctx));
        }
        keys.UInt32("embedding_length", c.RequireInteger("hidden_size", "n_embd"));
        if (c.Find("intermediate_size", "n_inner") is { } ff)
        {
            keys.UInt32("feed_forward_length", c.RequireInteger(ff));
        }
        keys.UInt32("attention.head_count", c.RequireInteger("num_attention_heads", "n_head"));
        if (c.Integer("num_key_value_heads") is { } kv)
        {
            keys.UInt32("attention.head_count_kv", kv);
        }
        if (c.Number("rope_theta") is { } theta)
        {
            keys.Float32("rope.freq_base", theta);
        }
        if (c.Number("rms_norm_eps") is { } rms)
        {
            keys.Float32("attention.layer_norm_rms_epsilon", rms);
        }
        if (c.Find("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon") is { } eps)
        {
            keys.Float32("attention.layer_norm_epsilon", c.RequireNumber(eps));
        }
        if (c.Integer("num_local_experts") is { } experts)
        {
            keys.UInt32("expert_count", experts);
        }
        if (c.Integer("num_experts_per_tok") is { } used)
        {
            keys.UInt32("expert_used_count", used);
        }
        if (c.Integer("head_dim") is { } headDim)
        {
            keys.UInt32("attention.key_length", headDim);
            keys.UInt32("attention.value_length", headDim);
        }
        keys.FileType(fileType);
    }
}

/// <summary>Writes <c>{arch}.*</c> keys with the value types gguf-py's <c>add_*</c> helpers use.</summary>
public sealed class ArchitectureKeys(GgufMetadata metadata, string architecture)
{
    public void UInt32(string key, long value)
    {
        if (value is < 0 or > uint.MaxValue)
        {
            throw new ConversionException($"{architecture}.{key} = {value} does not fit an unsigned 32-bit value");
        }
        Set($"{architecture}.{key}", GgufValue.UInt32((uint)value));
    }

    public void Float32(string key, double value) => Set($"{architecture}.{key}", GgufValue.Float32((float)value));

    public void String(string key, string value) => Set($"{architecture}.{key}", GgufValue.String(value));

    public void FileType(uint fileType) => Set(GgufKeys.FileType, GgufValue.UInt32(fileType));

    // gguf-py overwrites a key written twice in place (with a warning); so does Replace.
    void Set(string key, GgufValue value) => metadata.Replace(key, value);
}
