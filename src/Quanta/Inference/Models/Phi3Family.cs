using Quanta.Formats.Gguf;

namespace Quanta.Inference.Models;

/// <summary>
/// llama.cpp's <c>build_phi3</c>: fused <c>attn_qkv</c> (rows of Q, K, V) and <c>ffn_up</c> (gate rows, then up rows:
/// <c>silu(gate)·up</c>), NeoX rope with LongRoPE (<c>rope_factors_long</c> once the context is longer than
/// <c>rope.scaling.original_context_length</c>, else <c>rope_factors_short</c>, and <c>rope.scaling.attn_factor</c>),
/// queries scaled by 1/√head_dim after rope and a softmax scale of 1, and a sliding window over every layer when
/// <c>attention.sliding_window</c> is not 0.
/// </summary>
internal static class Phi3Family
{
    public static readonly string[] Architectures = ["phi3"];

    public static (ArchitectureOptions, TransformerLayer[]) Build(ModelTensors tensors, TransformerHyperparameters hp)
    {
        var metadata = tensors.File.Metadata;
        var arch = hp.Architecture;
        var e = hp.EmbeddingLength;
        if (hp.HeadCount * hp.KeyLength != e)
        {
            throw new GgufFormatException($"phi3 expects {arch}.attention.head_count × head size = {arch}.embedding_length ({hp.HeadCount} × {hp.KeyLength} ≠ {e})");
        }
        var pairs = hp.KeyLength / 2;
        var options = new ArchitectureOptions
        {
            NeoxRope = true,
            QueryScale = 1f / MathF.Sqrt(hp.KeyLength),
            KqScale = 1f,
            SlidingWindow = TransformerHyperparameters.OptionalInt(metadata, $"{arch}.attention.sliding_window") ?? DefaultWindow(hp, arch),
            RopeFactors = tensors.OptionalVector("rope_factors_short.weight", pairs),
            RopeFactorsLong = tensors.OptionalVector("rope_factors_long.weight", pairs),
            RopeOriginalContext = TransformerHyperparameters.OptionalInt(metadata, $"{arch}.rope.scaling.original_context_length") ?? hp.ContextLength,
            RopeAttentionFactor = TransformerHyperparameters.OptionalFloat(metadata, $"{arch}.rope.scaling.attn_factor") ?? 1f,
        };
        var kv = hp.KvHeadCount * hp.KeyLength;
        var layers = new TransformerLayer[hp.BlockCount];
        for (var i = 0; i < layers.Length; i++)
        {
            string Name(string part) => $"blk.{i}.{part}.weight";
            layers[i] = new TransformerLayer
            {
                AttentionNorm = tensors.Vector(Name("attn_norm"), e),
                QueryKeyValue = tensors.Matrix(Name("attn_qkv"), e, e + 2 * kv),
                AttentionOutput = tensors.Matrix(Name("attn_output"), e, e),
                FeedForwardNorm = tensors.Vector(Name("ffn_norm"), e),
                Up = tensors.Matrix(Name("ffn_up"), e, 2 * hp.FeedForwardLength),
                Down = tensors.Matrix(Name("ffn_down"), hp.FeedForwardLength, e),
                SlidingWindow = options.SlidingWindow > 0,
                RopeFreqBase = hp.RopeFreqBase,
                RopeFreqScale = hp.RopeFreqScale,
            };
        }
        return (options, layers);
    }

    /// <summary>llama.cpp's windows for Phi-3 files written before the key existed; others must have the key.</summary>
    static int DefaultWindow(TransformerHyperparameters hp, string arch) => (hp.BlockCount, hp.ContextLength) switch
    {
        (32 or 40, 4096) => 2047,
        (32, 131072) when hp.KvHeadCount == 32 => 262144,
        (40, 131072) => 131072,
        _ => throw new GgufFormatException($"the model has no {arch}.attention.sliding_window key"),
    };
}
