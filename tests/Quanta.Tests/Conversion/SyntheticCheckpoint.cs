namespace Quanta.Tests.Conversion;

/// <summary>Small checkpoints of any architecture: a config.json and BF16 tensors of random values.</summary>
internal static class SyntheticCheckpoint
{
    public static void Write(string directory, string configJson, IEnumerable<(string Name, long[] Shape)> tensors, int seed = 1)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), configJson);
        var random = new Random(seed);
        var list = tensors.Select(t =>
        {
            var values = new ushort[t.Shape.Aggregate(1L, (a, b) => a * b)];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = TinyCheckpoint.ToBf16((float)((random.NextDouble() * 0.2) - 0.1));
            }
            return (t.Name, t.Shape, values);
        }).ToList();
        TinyCheckpoint.WriteSafetensors(Path.Combine(directory, "model.safetensors"), list);
    }

    /// <summary>The tensors of a llama-like decoder (optionally with q/k/v biases, q/k norms, Gemma 2 sandwich norms).</summary>
    public static List<(string, long[])> Decoder(int layers, int width, int ffn, int heads, int kvHeads, int headDim, int vocab,
        bool lmHead, bool qkvBias = false, bool qkNorm = false, bool sandwich = false)
    {
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [vocab, width]) };
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            list.Add((p + "self_attn.q_proj.weight", [heads * headDim, width]));
            list.Add((p + "self_attn.k_proj.weight", [kvHeads * headDim, width]));
            list.Add((p + "self_attn.v_proj.weight", [kvHeads * headDim, width]));
            list.Add((p + "self_attn.o_proj.weight", [width, heads * headDim]));
            if (qkvBias)
            {
                list.Add((p + "self_attn.q_proj.bias", [heads * headDim]));
                list.Add((p + "self_attn.k_proj.bias", [kvHeads * headDim]));
                list.Add((p + "self_attn.v_proj.bias", [kvHeads * headDim]));
            }
            if (qkNorm)
            {
                list.Add((p + "self_attn.q_norm.weight", [headDim]));
                list.Add((p + "self_attn.k_norm.weight", [headDim]));
            }
            list.Add((p + "mlp.gate_proj.weight", [ffn, width]));
            list.Add((p + "mlp.up_proj.weight", [ffn, width]));
            list.Add((p + "mlp.down_proj.weight", [width, ffn]));
            list.Add((p + "input_layernorm.weight", [width]));
            list.Add((p + "post_attention_layernorm.weight", [width]));
            if (sandwich)
            {
                list.Add((p + "pre_feedforward_layernorm.weight", [width]));
                list.Add((p + "post_feedforward_layernorm.weight", [width]));
            }
        }
        list.Add(("model.norm.weight", [width]));
        if (lmHead)
        {
            list.Add(("lm_head.weight", [vocab, width]));
        }
        return list;
    }
}
