using System.Globalization;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>
/// Checks a converted model against its own hyperparameters the way llama.cpp's loader will
/// (<c>llama_model::load_tensors</c>, llama-model.cpp, 2025-2026 source): every tensor the architecture creates with
/// <c>create_tensor</c> must exist with exactly that shape, optional ones may be missing, and nothing else may be in
/// the file ("wrong number of tensors"). A config.json that disagrees with its safetensors (6 layers declared and
/// 4 present, a wrong <c>hidden_size</c> or head count) would otherwise convert without complaint and give a GGUF
/// llama.cpp refuses; this refuses it first, naming the first mismatch, before a byte is written.
/// </summary>
/// <remarks>
/// The vision tower and projector of a single-file multimodal model are not the text loader's business (Ollama
/// loads them beside it) and are left out; architectures without a table here (the projector's <c>clip</c>) are
/// not checked.
/// </remarks>
public static class CheckpointShapeCheck
{
    /// <summary>Throws a <see cref="ConversionException"/> naming the first way the model's tensors disagree with its config.</summary>
    public static void Verify(IConvertedModel model, GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(model);
        Verify(metadata, model.StoredTensors.Select(t => new CheckedTensor(t.Name, t.Shape, t.CheckpointName)), model.Config.Path);
    }

    /// <summary>A tensor as the check sees it: GGUF name and shape (row length first), and the checkpoint name it came from.</summary>
    public readonly record struct CheckedTensor(string Name, IReadOnlyList<long> Shape, string? CheckpointName);

    /// <summary>
    /// Checks <paramref name="tensors"/> against the hyperparameters in <paramref name="metadata"/> (the keys the
    /// converter wrote from <paramref name="configName"/>).
    /// </summary>
    public static void Verify(GgufMetadata metadata, IEnumerable<CheckedTensor> tensors, string configName)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!metadata.TryGetValue(GgufKeys.Architecture, out var archValue) || archValue.Type != GgufValueType.String)
        {
            return;
        }
        var arch = archValue.AsString();
        if (!Layouts.TryGetValue(arch, out var layout))
        {
            return;
        }
        var present = new Dictionary<string, CheckedTensor>(StringComparer.Ordinal);
        foreach (var t in tensors.Where(t => MultimodalTensors.ComponentOf(t.Name) == MultimodalComponent.None))
        {
            present[t.Name] = t;
        }
        var h = Hyperparameters.Read(metadata, arch, present, configName);
        var layersPresent = present.Keys.Select(LayerOf).Where(l => l >= 0).DefaultIfEmpty(-1).Max() + 1;

        var expected = layout(h);
        foreach (var spec in expected)
        {
            if (!present.TryGetValue(spec.Name, out var tensor))
            {
                if (spec.Required)
                {
                    throw new ConversionException(Missing(spec.Name, arch, h, layersPresent, configName));
                }
                continue;
            }
            if (!ShapeMatches(tensor.Shape, spec.Dims))
            {
                throw new ConversionException(
                    $"tensor {Describe(tensor)} has shape [{string.Join(", ", tensor.Shape)}], but {configName} gives "
                    + $"[{string.Join(", ", spec.Dims.Select(d => d.Meaning is null ? Number(d.Value) : $"{Number(d.Value)} ({d.Meaning})"))}] (row length first); llama.cpp would refuse the file");
            }
        }
        var names = expected.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in present.Values.Where(t => !names.Contains(t.Name)))
        {
            var layer = LayerOf(tensor.Name);
            throw new ConversionException(layer >= h.Layers
                ? $"{configName}: num_hidden_layers is {Number(h.Layers)}, but the checkpoint has {LayerCount(layersPresent)} (tensor {Describe(tensor)} belongs to layer {Number(layer)}); llama.cpp would refuse the file"
                : $"tensor {Describe(tensor)} is not one llama.cpp's {arch} loader reads; it would refuse the file (wrong number of tensors)");
        }
    }

    static string Missing(string name, string arch, Hyperparameters h, int layersPresent, string configName)
    {
        var layer = LayerOf(name);
        return layer >= layersPresent && layersPresent < h.Layers
            ? $"{configName}: num_hidden_layers is {Number(h.Layers)}, but the checkpoint has {LayerCount(layersPresent)} (no tensor '{name}'); llama.cpp would refuse the file"
            : $"the checkpoint has no tensor for '{name}', which llama.cpp's {arch} loader requires";
    }

    static string Describe(CheckedTensor t) => t.CheckpointName is { } source && source != t.Name ? $"'{t.Name}' ({source})" : $"'{t.Name}'";

    static string LayerCount(long n) => n == 1 ? "1 layer" : $"{Number(n)} layers";

    static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>llama.cpp's <c>check_tensor_dims</c>: the listed dimensions equal, any further ones 1.</summary>
    static bool ShapeMatches(IReadOnlyList<long> shape, IReadOnlyList<Dim> dims)
    {
        for (var i = 0; i < Math.Max(shape.Count, dims.Count); i++)
        {
            var actual = i < shape.Count ? shape[i] : 1;
            var wanted = i < dims.Count ? dims[i].Value : 1;
            if (actual != wanted)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The block index of <c>blk.N.*</c>, or -1.</summary>
    static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return -1;
        }
        var end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
    }

    /// <summary>One dimension llama.cpp asks for, with the config fields it comes from.</summary>
    readonly record struct Dim(long Value, string? Meaning);

    readonly record struct TensorSpec(string Name, Dim[] Dims, bool Required);

    /// <summary>
    /// The hyperparameters the loader derives from the GGUF keys (<c>llama_model::load_hparams</c>): head sizes
    /// default to <c>n_embd / n_head</c>, KV heads to the head count, the vocabulary is the tokenizer's token count.
    /// </summary>
    sealed record Hyperparameters(long Layers, Dim Embd, long Heads, long KvHeads, long HeadK, long HeadV, Dim FeedForward, Dim Vocab, long Rot)
    {
        public Dim Q => new(HeadK * Heads, $"num_attention_heads {Heads} x head size {HeadK}");

        public Dim KGqa => new(HeadK * KvHeads, $"num_key_value_heads {KvHeads} x head size {HeadK}");

        public Dim VGqa => new(HeadV * KvHeads, $"num_key_value_heads {KvHeads} x head size {HeadV}");

        public Dim HeadKDim => new(HeadK, "head size");

        public static Hyperparameters Read(GgufMetadata m, string arch, Dictionary<string, CheckedTensor> present, string configName)
        {
            long? Key(string key) => m.TryGetValue($"{arch}.{key}", out var v) && v.TryGetInteger(out var n) ? n : null;
            var layers = Key("block_count") ?? throw new ConversionException($"{configName}: no layer count (num_hidden_layers)");
            var embd = Key("embedding_length") ?? throw new ConversionException($"{configName}: no hidden_size");
            var heads = Key("attention.head_count") ?? throw new ConversionException($"{configName}: no num_attention_heads");
            if (heads <= 0)
            {
                throw new ConversionException($"{configName}: num_attention_heads is {heads}");
            }
            var kvHeads = Key("attention.head_count_kv") ?? heads;
            var headK = Key("attention.key_length") ?? embd / heads;
            var headV = Key("attention.value_length") ?? embd / heads;
            var ff = Key("feed_forward_length") ?? 0;
            Dim vocab;
            if (m.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens.Type == GgufValueType.Array)
            {
                vocab = new(tokens.AsArray().Count, "the tokenizer's tokens");
            }
            else if (Key("vocab_size") is { } size)
            {
                vocab = new(size, "vocab_size");
            }
            else
            {
                // No tokenizer and no vocab_size: the embedding's rows are the vocabulary (the warning about the
                // missing tokenizer is the caller's).
                vocab = new(present.TryGetValue("token_embd.weight", out var embd0) && embd0.Shape.Count == 2 ? embd0.Shape[1] : 0, "vocabulary");
            }
            return new(layers, new(embd, "hidden_size"), heads, kvHeads, headK, headV, new(ff, "intermediate_size"), vocab, Key("rope.dimension_count") ?? headK);
        }
    }

    static readonly Dictionary<string, Func<Hyperparameters, List<TensorSpec>>> Layouts = new(StringComparer.Ordinal)
    {
        ["llama"] = Llama,
        ["qwen2"] = Qwen2,
        ["qwen3"] = Qwen3,
        ["gemma"] = h => Gemma(h, postNorms: false, qkNorms: false, separateOutput: false),
        ["gemma2"] = h => Gemma(h, postNorms: true, qkNorms: false, separateOutput: false),
        ["gemma3"] = h => Gemma(h, postNorms: true, qkNorms: true, separateOutput: true),
        ["phi3"] = Phi3,
    };

    static TensorSpec Need(string name, params Dim[] dims) => new(name, dims, true);

    static TensorSpec May(string name, params Dim[] dims) => new(name, dims, false);

    /// <summary>token_embd, output_norm and (unless tied) output, as every family here creates them.</summary>
    static List<TensorSpec> Head(Hyperparameters h, bool outputAllowed = true)
    {
        var specs = new List<TensorSpec> { Need("token_embd.weight", h.Embd, h.Vocab), Need("output_norm.weight", h.Embd) };
        if (outputAllowed)
        {
            specs.Add(May("output.weight", h.Embd, h.Vocab));
        }
        return specs;
    }

    /// <summary>A layer's attention norm and its separate Q, K, V and output projections (queries <paramref name="q"/> wide, keys <paramref name="k"/>).</summary>
    static void Attention(List<TensorSpec> specs, string p, Hyperparameters h, Dim q, Dim k)
    {
        specs.Add(Need(p + "attn_norm.weight", h.Embd));
        specs.Add(Need(p + "attn_q.weight", h.Embd, q));
        specs.Add(Need(p + "attn_k.weight", h.Embd, k));
        specs.Add(Need(p + "attn_v.weight", h.Embd, h.VGqa));
        specs.Add(Need(p + "attn_output.weight", q, h.Embd));
    }

    static void FeedForward(List<TensorSpec> specs, string p, Hyperparameters h)
    {
        specs.Add(Need(p + "ffn_gate.weight", h.Embd, h.FeedForward));
        specs.Add(Need(p + "ffn_down.weight", h.FeedForward, h.Embd));
        specs.Add(Need(p + "ffn_up.weight", h.Embd, h.FeedForward));
    }

    /// <summary>LLM_ARCH_LLAMA (dense): optional attention and MLP biases, an optional llama3 rope_freqs.</summary>
    static List<TensorSpec> Llama(Hyperparameters h)
    {
        var specs = Head(h);
        specs.Add(May("rope_freqs.weight", new Dim(h.Rot / 2, "head size / 2")));
        var gqa = h.VGqa;
        for (var i = 0; i < h.Layers; i++)
        {
            var p = $"blk.{i}.";
            Attention(specs, p, h, q: h.Q, k: h.KGqa);
            specs.Add(May(p + "attn_q.bias", h.Embd));
            specs.Add(May(p + "attn_k.bias", gqa));
            specs.Add(May(p + "attn_v.bias", gqa));
            specs.Add(May(p + "attn_output.bias", h.Embd));
            specs.Add(Need(p + "ffn_norm.weight", h.Embd));
            FeedForward(specs, p, h);
            specs.Add(May(p + "ffn_gate.bias", h.FeedForward));
            specs.Add(May(p + "ffn_down.bias", h.Embd));
            specs.Add(May(p + "ffn_up.bias", h.FeedForward));
        }
        return specs;
    }

    /// <summary>LLM_ARCH_QWEN2: queries and output are n_embd wide; q/k/v biases; an optional output bias.</summary>
    static List<TensorSpec> Qwen2(Hyperparameters h)
    {
        var specs = Head(h);
        specs.Add(May("output.bias", h.Vocab));
        for (var i = 0; i < h.Layers; i++)
        {
            var p = $"blk.{i}.";
            Attention(specs, p, h, q: h.Embd, k: h.VGqa);
            specs.Add(May(p + "attn_q.bias", h.Embd));
            specs.Add(May(p + "attn_k.bias", h.VGqa));
            specs.Add(May(p + "attn_v.bias", h.VGqa));
            specs.Add(Need(p + "ffn_norm.weight", h.Embd));
            FeedForward(specs, p, h);
        }
        return specs;
    }

    /// <summary>LLM_ARCH_QWEN3: per-head q/k norms, no biases.</summary>
    static List<TensorSpec> Qwen3(Hyperparameters h)
    {
        var specs = Head(h);
        for (var i = 0; i < h.Layers; i++)
        {
            var p = $"blk.{i}.";
            Attention(specs, p, h, q: h.Q, k: h.VGqa);
            specs.Add(Need(p + "attn_k_norm.weight", h.HeadKDim));
            specs.Add(Need(p + "attn_q_norm.weight", h.HeadKDim));
            specs.Add(Need(p + "ffn_norm.weight", h.Embd));
            FeedForward(specs, p, h);
        }
        return specs;
    }

    /// <summary>
    /// LLM_ARCH_GEMMA, GEMMA2, GEMMA3: Gemma and Gemma 2 always tie the output to the embeddings (an output
    /// tensor is one too many), Gemma 2 and 3 add post-attention and post-FFN norms, Gemma 3 per-head q/k norms.
    /// </summary>
    static List<TensorSpec> Gemma(Hyperparameters h, bool postNorms, bool qkNorms, bool separateOutput)
    {
        var specs = Head(h, outputAllowed: separateOutput);
        for (var i = 0; i < h.Layers; i++)
        {
            var p = $"blk.{i}.";
            Attention(specs, p, h, q: h.Q, k: h.KGqa);
            if (postNorms)
            {
                specs.Add(Need(p + "post_attention_norm.weight", h.Embd));
            }
            if (qkNorms)
            {
                specs.Add(Need(p + "attn_k_norm.weight", h.HeadKDim));
                specs.Add(Need(p + "attn_q_norm.weight", h.HeadKDim));
            }
            specs.Add(Need(p + "ffn_norm.weight", h.Embd));
            FeedForward(specs, p, h);
            if (postNorms)
            {
                specs.Add(Need(p + "post_ffw_norm.weight", h.Embd));
            }
        }
        return specs;
    }

    /// <summary>LLM_ARCH_PHI3: fused qkv and gate/up projections, LongRoPE factors.</summary>
    static List<TensorSpec> Phi3(Hyperparameters h)
    {
        var specs = Head(h);
        var half = new Dim(h.Rot / 2, "head size / 2");
        specs.Add(May("rope_factors_long.weight", half));
        specs.Add(May("rope_factors_short.weight", half));
        var qkv = new Dim(h.Embd.Value + (2 * h.VGqa.Value), $"hidden_size {h.Embd.Value} + 2 x num_key_value_heads {h.KvHeads} x head size {h.HeadV}");
        var up = new Dim(2 * h.FeedForward.Value, $"2 x intermediate_size {h.FeedForward.Value}");
        for (var i = 0; i < h.Layers; i++)
        {
            var p = $"blk.{i}.";
            specs.Add(Need(p + "attn_norm.weight", h.Embd));
            // llama.cpp marks it optional, then needs it to build the graph: the converter always writes it.
            specs.Add(Need(p + "attn_qkv.weight", h.Embd, qkv));
            specs.Add(Need(p + "attn_output.weight", h.Embd, h.Embd));
            specs.Add(Need(p + "ffn_norm.weight", h.Embd));
            specs.Add(Need(p + "ffn_down.weight", h.FeedForward, h.Embd));
            specs.Add(Need(p + "ffn_up.weight", h.Embd, up));
        }
        return specs;
    }
}
