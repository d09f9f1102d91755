namespace Quanta.Inference.Models;

/// <summary>
/// llama.cpp's <c>build_gemma</c>, <c>build_gemma2</c> and <c>build_gemma3</c> (text): embeddings scaled by √n_embd,
/// NeoX rope, queries scaled after rope (1/√key_length, or 1/√(n_embd/n_head) for the 27B models) and a softmax
/// scale of 1, GELU gating. Gemma 2 adds post-attention and post-feed-forward norms, attention and final logit
/// soft-capping and a sliding window on every even layer; Gemma 3 has the post-norms, per-head q/k norms, no
/// soft-capping, five sliding-window layers for each global one, and a rope base of its own for the local layers.
/// </summary>
internal static class GemmaFamily
{
    public static readonly string[] Architectures = ["gemma", "gemma2", "gemma3"];

    /// <summary>llama.cpp's default for gemma2 files without <c>attention.sliding_window</c>.</summary>
    const int Gemma2DefaultWindow = 4096;

    /// <summary>Gemma 3's local rope base when the file names none (llama.cpp's <c>rope_freq_base_train_swa</c>).</summary>
    const float Gemma3LocalRopeBase = 10000f;

    public static (ArchitectureOptions, TransformerLayer[]) Build(ModelTensors tensors, TransformerHyperparameters hp)
    {
        var metadata = tensors.File.Metadata;
        var arch = hp.Architecture;
        // gemma_pytorch's query_pre_attn_scalar, as llama.cpp picks it by model size: 27B scales by n_embd/n_head.
        var is27B = (arch == "gemma2" && hp.BlockCount == 46) || (arch == "gemma3" && hp.BlockCount == 62);
        var queryScale = 1f / MathF.Sqrt(is27B ? hp.EmbeddingLength / hp.HeadCount : hp.KeyLength);
        var options = new ArchitectureOptions { NeoxRope = true, ScaleEmbeddings = true, Gelu = true, QueryScale = queryScale, KqScale = 1f };
        var layers = new TransformerLayer[hp.BlockCount];
        switch (arch)
        {
            case "gemma":
                for (var i = 0; i < layers.Length; i++)
                {
                    layers[i] = StandardLayer.Load(tensors, hp, i, new StandardLayer.Parts(), slidingWindow: false, hp.RopeFreqBase, hp.RopeFreqScale);
                }
                break;
            case "gemma2":
                options = options with
                {
                    SlidingWindow = TransformerHyperparameters.OptionalInt(metadata, $"{arch}.attention.sliding_window") ?? Gemma2DefaultWindow,
                    AttentionSoftcap = TransformerHyperparameters.OptionalFloat(metadata, $"{arch}.attn_logit_softcapping") ?? 50f,
                    FinalSoftcap = TransformerHyperparameters.OptionalFloat(metadata, $"{arch}.final_logit_softcapping") ?? 30f,
                };
                for (var i = 0; i < layers.Length; i++)
                {
                    layers[i] = StandardLayer.Load(tensors, hp, i, new StandardLayer.Parts { PostNorms = true }, slidingWindow: i % 2 == 0, hp.RopeFreqBase, hp.RopeFreqScale);
                }
                break;
            default:
                options = options with
                {
                    SlidingWindow = TransformerHyperparameters.RequiredInt(metadata, $"{arch}.attention.sliding_window"),
                };
                // Newer files name the local base (rope.freq_base_swa; Ollama writes rope.local.freq_base).
                var localBase = TransformerHyperparameters.OptionalFloat(metadata, $"{arch}.rope.freq_base_swa")
                    ?? TransformerHyperparameters.OptionalFloat(metadata, $"{arch}.rope.local.freq_base")
                    ?? Gemma3LocalRopeBase;
                for (var i = 0; i < layers.Length; i++)
                {
                    // set_swa_pattern(6): layers 0-4 of every 6 are local; the local layers' rope is not scaled.
                    var local = i % 6 < 5;
                    layers[i] = StandardLayer.Load(
                        tensors, hp, i, new StandardLayer.Parts { PostNorms = true, QueryKeyNorms = true }, local,
                        local ? localBase : hp.RopeFreqBase, local ? 1f : hp.RopeFreqScale);
                }
                break;
        }
        return (options, layers);
    }
}
