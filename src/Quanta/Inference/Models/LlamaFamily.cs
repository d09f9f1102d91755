namespace Quanta.Inference.Models;

/// <summary>
/// llama.cpp's <c>build_llama</c>: llama 1/2/3 and mistral (which the converter writes as llama), normal rope,
/// optional q/k/v/output biases, llama3's <c>rope_freqs</c> factors, and the Mixtral-style mixture of experts when
/// the file has <c>ffn_gate_inp</c> (top-k experts, softmax weights renormalised over the chosen ones).
/// </summary>
internal static class LlamaFamily
{
    public static readonly string[] Architectures = ["llama"];

    public static (ArchitectureOptions, TransformerLayer[]) Build(ModelTensors tensors, TransformerHyperparameters hp)
    {
        var scale = TransformerHyperparameters.OptionalFloat(tensors.File.Metadata, $"{hp.Architecture}.attention.scale") ?? 0f;
        var options = new ArchitectureOptions
        {
            KqScale = scale == 0f ? 1f / MathF.Sqrt(hp.KeyLength) : scale,
            RopeFactors = tensors.OptionalVector("rope_freqs.weight", hp.RopeDimensions / 2),
        };
        var parts = new StandardLayer.Parts { Biases = StandardLayer.Presence.Optional };
        var layers = new TransformerLayer[hp.BlockCount];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = StandardLayer.Load(tensors, hp, i, parts, slidingWindow: false, hp.RopeFreqBase, hp.RopeFreqScale);
        }
        return (options, layers);
    }
}
