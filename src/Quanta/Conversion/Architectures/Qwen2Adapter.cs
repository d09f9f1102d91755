using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>Qwen2ForCausalLM</c> (and, with q/k norms, <c>Qwen3ForCausalLM</c>): llama-like names, NEOX rope so no
/// permutation, biases on q/k/v kept as float32, YaRN rope scaling as keys.
/// </summary>
public class Qwen2Adapter : ArchitectureAdapter
{
    public override string Architecture => "qwen2";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = LlamaLayerTensors();

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var keys = new ArchitectureKeys(metadata, Architecture);
        WriteCommonParameters(context, keys, fileType);
        if (context.Config.Object("rope_scaling") is { } scaling && scaling.Has("factor") && scaling.String("type") == "yarn")
        {
            keys.String("rope.scaling.type", "yarn");
            keys.Float32("rope.scaling.factor", scaling.RequireNumber("factor"));
            keys.UInt32("rope.scaling.original_context_length", scaling.RequireInteger("original_max_position_embeddings"));
        }
    }
}

/// <summary><c>Qwen3ForCausalLM</c>: Qwen2 plus per-head RMS norms on queries and keys.</summary>
public sealed class Qwen3Adapter : Qwen2Adapter
{
    public override string Architecture => "qwen3";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = new Dictionary<string, string>(LlamaLayerTensors(), StringComparer.Ordinal)
    {
        ["self_attn.q_norm"] = "attn_q_norm",
        ["self_attn.k_norm"] = "attn_k_norm",
    };
}
