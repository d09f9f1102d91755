using Quanta.Formats.Gguf;

namespace Quanta.Inference.Models;

/// <summary>
/// llama.cpp's <c>build_qwen2</c> (q/k/v biases), <c>build_qwen2moe</c> (the same attention; routed experts whose
/// softmax weights are not renormalised, plus a gated shared expert) and <c>build_qwen3</c> (no biases; an RMS norm
/// over each query and key head before rope): llama's block with NeoX rope and <c>kq_scale = 1/√head_dim</c>.
/// </summary>
internal static class QwenFamily
{
    public static readonly string[] Architectures = ["qwen2", "qwen2moe", "qwen3"];

    public static (ArchitectureOptions, TransformerLayer[]) Build(ModelTensors tensors, TransformerHyperparameters hp)
    {
        var options = new ArchitectureOptions { NeoxRope = true, KqScale = 1f / MathF.Sqrt(hp.KeyLength) };
        if (hp.Architecture == "qwen2moe" && (hp.ExpertCount == 0 || hp.ExpertUsedCount == 0))
        {
            throw new GgufFormatException("qwen2moe needs qwen2moe.expert_count and qwen2moe.expert_used_count above 0");
        }
        var parts = hp.Architecture switch
        {
            "qwen3" => new StandardLayer.Parts { QueryKeyNorms = true },
            "qwen2moe" => new StandardLayer.Parts { Biases = StandardLayer.Presence.Required, Qwen2Experts = true },
            _ => new StandardLayer.Parts { Biases = StandardLayer.Presence.Required },
        };
        var layers = new TransformerLayer[hp.BlockCount];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = StandardLayer.Load(tensors, hp, i, parts, slidingWindow: false, hp.RopeFreqBase, hp.RopeFreqScale);
        }
        return (options, layers);
    }
}
