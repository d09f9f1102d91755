namespace Quanta.Inference.Models;

/// <summary>
/// llama.cpp's <c>build_qwen2</c> (q/k/v biases) and <c>build_qwen3</c> (no biases; an RMS norm over each query and
/// key head before rope): llama's block with NeoX rope and <c>kq_scale = 1/√head_dim</c>.
/// </summary>
internal static class QwenFamily
{
    public static readonly string[] Architectures = ["qwen2", "qwen3"];

    public static (ArchitectureOptions, TransformerLayer[]) Build(ModelTensors tensors, TransformerHyperparameters hp)
    {
        var options = new ArchitectureOptions { NeoxRope = true, KqScale = 1f / MathF.Sqrt(hp.KeyLength) };
        var parts = hp.Architecture == "qwen3"
            ? new StandardLayer.Parts { QueryKeyNorms = true }
            : new StandardLayer.Parts { Biases = StandardLayer.Presence.Required };
        var layers = new TransformerLayer[hp.BlockCount];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = StandardLayer.Load(tensors, hp, i, parts, slidingWindow: false, hp.RopeFreqBase, hp.RopeFreqScale);
        }
        return (options, layers);
    }
}
