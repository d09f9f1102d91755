using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Demo;

/// <summary>The shape of a synthetic llama-style model.</summary>
/// <param name="Layers">Blocks.</param>
/// <param name="Width">Embedding length (rows of every matrix but ffn_down).</param>
/// <param name="FeedForward">Feed-forward length.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads (grouped-query attention when fewer than <paramref name="Heads"/>).</param>
/// <param name="Vocabulary">Token count: rows of token_embd and output.</param>
/// <param name="Seed">Seed of the weights; the same seed gives the same file.</param>
public sealed record SyntheticLlamaShape(
    int Layers = 4,
    int Width = 256,
    int FeedForward = 768,
    int Heads = 4,
    int KvHeads = 2,
    int Vocabulary = 1024,
    ulong Seed = 42)
{
    /// <summary>Elements over all tensors.</summary>
    public long ParameterCount => SyntheticLlamaModel.Tensors(this).Sum(t => t.ElementCount);
}

/// <summary>
/// Writes a llama-shaped F16 GGUF file with Gaussian weights (σ 0.02, like trained weights; norms 1), for
/// demos and benchmarks that must not download anything. The values come from a counter-based generator,
/// so they are the same whatever the thread count, and generation runs in parallel.
/// </summary>
public static class SyntheticLlamaModel
{
    const double WeightSigma = 0.02;

    /// <summary>Elements generated per work item.</summary>
    const int BlockElements = 1 << 20;

    /// <summary>The tensors in the order llama.cpp's converter writes a llama model.</summary>
    public static IReadOnlyList<GgufTensorInfo> Tensors(SyntheticLlamaShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var kvWidth = (long)shape.Width / shape.Heads * shape.KvHeads;
        var tensors = new List<GgufTensorInfo> { new("token_embd.weight", [shape.Width, shape.Vocabulary], GgmlType.F16) };
        for (var i = 0; i < shape.Layers; i++)
        {
            var p = $"blk.{i}.";
            tensors.Add(new(p + "attn_norm.weight", [shape.Width], GgmlType.F32));
            tensors.Add(new(p + "attn_q.weight", [shape.Width, shape.Width], GgmlType.F16));
            tensors.Add(new(p + "attn_k.weight", [shape.Width, kvWidth], GgmlType.F16));
            tensors.Add(new(p + "attn_v.weight", [shape.Width, kvWidth], GgmlType.F16));
            tensors.Add(new(p + "attn_output.weight", [shape.Width, shape.Width], GgmlType.F16));
            tensors.Add(new(p + "ffn_norm.weight", [shape.Width], GgmlType.F32));
            tensors.Add(new(p + "ffn_gate.weight", [shape.Width, shape.FeedForward], GgmlType.F16));
            tensors.Add(new(p + "ffn_up.weight", [shape.Width, shape.FeedForward], GgmlType.F16));
            tensors.Add(new(p + "ffn_down.weight", [shape.FeedForward, shape.Width], GgmlType.F16));
        }
        tensors.Add(new("output_norm.weight", [shape.Width], GgmlType.F32));
        tensors.Add(new("output.weight", [shape.Width, shape.Vocabulary], GgmlType.F16));
        return tensors;
    }

    /// <summary>
    /// The metadata llama.cpp needs to load the model: the architecture keys, then <paramref name="tokenizerKeys"/>
    /// (the <c>tokenizer.*</c> keys, where the converter puts them: after the architecture's, before
    /// <c>general.quantization_version</c>). Without a tokenizer llama.cpp can plan the weights but not load the model.
    /// </summary>
    public static GgufMetadata Metadata(SyntheticLlamaShape shape, IReadOnlyList<KeyValuePair<string, GgufValue>>? tokenizerKeys = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var metadata = new GgufMetadata();
        metadata.Add(GgufKeys.Architecture, GgufValue.String("llama"));
        metadata.Add("general.type", GgufValue.String("model"));
        metadata.Add(GgufKeys.Name, GgufValue.String("Quanta synthetic llama"));
        metadata.Add("llama.block_count", GgufValue.UInt32((uint)shape.Layers));
        metadata.Add("llama.context_length", GgufValue.UInt32(2048));
        metadata.Add("llama.embedding_length", GgufValue.UInt32((uint)shape.Width));
        metadata.Add("llama.feed_forward_length", GgufValue.UInt32((uint)shape.FeedForward));
        metadata.Add("llama.attention.head_count", GgufValue.UInt32((uint)shape.Heads));
        metadata.Add("llama.attention.head_count_kv", GgufValue.UInt32((uint)shape.KvHeads));
        metadata.Add("llama.rope.freq_base", GgufValue.Float32(10000f));
        metadata.Add("llama.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f));
        metadata.Add("llama.rope.dimension_count", GgufValue.UInt32((uint)(shape.Width / shape.Heads)));
        metadata.Add("llama.vocab_size", GgufValue.UInt32((uint)shape.Vocabulary));
        metadata.Add(GgufKeys.FileType, GgufValue.UInt32(1));
        foreach (var (key, value) in tokenizerKeys ?? [])
        {
            metadata.Add(key, value);
        }
        metadata.Add(GgufKeys.QuantizationVersion, GgufValue.UInt32(2));
        return metadata;
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> (atomically, like every GGUF Quanta writes), with
    /// <paramref name="tokenizerKeys"/> when given (their token count must be the shape's vocabulary).
    /// </summary>
    public static void Write(string path, SyntheticLlamaShape shape, int threads = 0, GgufWriterOptions? options = null,
        IReadOnlyList<KeyValuePair<string, GgufValue>>? tokenizerKeys = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (ShapeProblem(shape) is { } problem)
        {
            throw new ArgumentException($"not a valid llama shape: {problem}", nameof(shape));
        }
        if (tokenizerKeys?.FirstOrDefault(k => k.Key == "tokenizer.ggml.tokens").Value is { Type: GgufValueType.Array } tokens && tokens.AsArray().Count != shape.Vocabulary)
        {
            throw new ArgumentException($"the tokenizer has {tokens.AsArray().Count} tokens, the shape's vocabulary is {shape.Vocabulary}", nameof(tokenizerKeys));
        }
        var tensors = Tensors(shape);
        var cancellationToken = options?.CancellationToken ?? CancellationToken.None;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount, CancellationToken = cancellationToken };
        var batch = parallel.MaxDegreeOfParallelism * 2;
        var buffers = new byte[batch][];
        using var writer = GgufWriter.Create(path, Metadata(shape, tokenizerKeys), tensors, options);
        for (var t = 0; t < tensors.Count; t++)
        {
            var tensor = tensors[t];
            var elementBytes = tensor.Type == GgmlType.F32 ? 4 : 2;
            var blocks = (tensor.ElementCount + BlockElements - 1) / BlockElements;
            // A batch of blocks is generated in parallel, then written in order: memory stays a few blocks.
            for (long first = 0; first < blocks; first += batch)
            {
                var count = (int)Math.Min(batch, blocks - first);
                var tensorIndex = t;
                Parallel.For(0, count, parallel, b =>
                {
                    var start = (first + b) * BlockElements;
                    var n = (int)Math.Min(BlockElements, tensor.ElementCount - start);
                    var bytes = buffers[b] ??= new byte[BlockElements * 4];
                    Fill(shape.Seed, tensorIndex, tensor, start, n, bytes.AsSpan(0, n * elementBytes));
                });
                for (var b = 0; b < count; b++)
                {
                    var start = (first + b) * BlockElements;
                    var n = (int)Math.Min(BlockElements, tensor.ElementCount - start);
                    writer.WriteTensorData(buffers[b].AsSpan(0, n * elementBytes));
                }
            }
        }
        writer.Commit();
    }

    /// <summary>What makes <paramref name="shape"/> no llama model, or null.</summary>
    static string? ShapeProblem(SyntheticLlamaShape shape) =>
        shape.Layers < 0 ? $"{shape.Layers} layers"
        : shape.Width <= 0 || shape.FeedForward <= 0 || shape.Heads <= 0 || shape.KvHeads <= 0 || shape.Vocabulary <= 0
            ? $"width {shape.Width}, FFN {shape.FeedForward}, {shape.Heads} heads, {shape.KvHeads} KV heads and vocabulary {shape.Vocabulary} must all be positive"
        : shape.Width % shape.Heads != 0 ? $"width {shape.Width} is not a multiple of the {shape.Heads} heads"
        : shape.Heads % shape.KvHeads != 0 ? $"{shape.Heads} heads are not a multiple of the {shape.KvHeads} KV heads"
        : null;

    static void Fill(ulong seed, int tensorIndex, GgufTensorInfo tensor, long start, int count, Span<byte> destination)
    {
        if (tensor.Type == GgmlType.F32)
        {
            // Norm weights: ones, as a freshly initialised RMSNorm has.
            MemoryMarshal.Cast<byte, float>(destination).Fill(1f);
            return;
        }
        var values = new float[count];
        Gaussian(seed, tensorIndex, start, values);
        Fp16.FromFloat(values, MemoryMarshal.Cast<byte, ushort>(destination));
    }

    static void Gaussian(ulong seed, int tensorIndex, long start, Span<float> values)
    {
        var count = values.Length;
        for (var i = 0; i < count; i += 2)
        {
            // One 64-bit draw per pair of values, keyed by (seed, tensor, element): Box-Muller on two 32-bit uniforms.
            var z = SplitMix64(seed ^ ((ulong)tensorIndex << 48) ^ (ulong)((start + i) >> 1));
            var u1 = ((z >> 32) + 1.0) / 4294967297.0;
            var u2 = (z & 0xFFFFFFFF) / 4294967296.0;
            var r = Math.Sqrt(-2.0 * Math.Log(u1)) * WeightSigma;
            var angle = 2.0 * Math.PI * u2;
            values[i] = (float)(r * Math.Cos(angle));
            if (i + 1 < count)
            {
                values[i + 1] = (float)(r * Math.Sin(angle));
            }
        }
    }

    /// <summary>
    /// Writes the same model as a Hugging Face checkpoint: <c>config.json</c>, one BF16 <c>model.safetensors</c>
    /// with HF tensor names, and <paramref name="tokenizerFiles"/> (file name and bytes: <c>tokenizer.model</c>,
    /// <c>tokenizer.json</c>, <c>tokenizer_config.json</c>) for <c>quanta convert</c> to pick up.
    /// </summary>
    public static void WriteCheckpoint(string directory, SyntheticLlamaShape shape, int threads = 0, IReadOnlyDictionary<string, byte[]>? tokenizerFiles = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (ShapeProblem(shape) is { } problem)
        {
            throw new ArgumentException($"not a valid llama shape: {problem}", nameof(shape));
        }
        Directory.CreateDirectory(directory);
        // Llama 2's special token ids, as its config.json has them (the tokenizer files say the same).
        var config = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $$"""{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":{{shape.Width}},"intermediate_size":{{shape.FeedForward}},"num_hidden_layers":{{shape.Layers}},"num_attention_heads":{{shape.Heads}},"num_key_value_heads":{{shape.KvHeads}},"max_position_embeddings":2048,"rms_norm_eps":1e-05,"rope_theta":10000.0,"vocab_size":{{shape.Vocabulary}},"bos_token_id":1,"eos_token_id":2,"torch_dtype":"bfloat16","tie_word_embeddings":false}""");
        File.WriteAllText(Path.Combine(directory, "config.json"), config);
        foreach (var (name, content) in tokenizerFiles ?? new Dictionary<string, byte[]>())
        {
            File.WriteAllBytes(Path.Combine(directory, Path.GetFileName(name)), content);
        }
        var kvWidth = (long)shape.Width / shape.Heads * shape.KvHeads;
        var tensors = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [shape.Vocabulary, shape.Width]) };
        for (var i = 0; i < shape.Layers; i++)
        {
            var p = $"model.layers.{i}.";
            tensors.Add((p + "input_layernorm.weight", [shape.Width]));
            tensors.Add((p + "self_attn.q_proj.weight", [shape.Width, shape.Width]));
            tensors.Add((p + "self_attn.k_proj.weight", [kvWidth, shape.Width]));
            tensors.Add((p + "self_attn.v_proj.weight", [kvWidth, shape.Width]));
            tensors.Add((p + "self_attn.o_proj.weight", [shape.Width, shape.Width]));
            tensors.Add((p + "post_attention_layernorm.weight", [shape.Width]));
            tensors.Add((p + "mlp.gate_proj.weight", [shape.FeedForward, shape.Width]));
            tensors.Add((p + "mlp.up_proj.weight", [shape.FeedForward, shape.Width]));
            tensors.Add((p + "mlp.down_proj.weight", [shape.Width, shape.FeedForward]));
        }
        tensors.Add(("model.norm.weight", [shape.Width]));
        tensors.Add(("lm_head.weight", [shape.Vocabulary, shape.Width]));
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        var batch = parallel.MaxDegreeOfParallelism * 2;
        var floats = new float[batch][];
        var bytes = new byte[batch][];
        void WriteTensor(int t, Stream stream)
        {
            var (_, tensorShape) = tensors[t];
            var elements = tensorShape.Aggregate(1L, (a, b) => a * b);
            var blocks = (elements + BlockElements - 1) / BlockElements;
            for (long first = 0; first < blocks; first += batch)
            {
                var count = (int)Math.Min(batch, blocks - first);
                Parallel.For(0, count, parallel, b =>
                {
                    var start = (first + b) * BlockElements;
                    var n = (int)Math.Min(BlockElements, elements - start);
                    var values = (floats[b] ??= new float[BlockElements]).AsSpan(0, n);
                    if (tensorShape.Length == 1)
                    {
                        values.Fill(1f);
                    }
                    else
                    {
                        Gaussian(shape.Seed, t, start, values);
                    }
                    BFloat16.FromFloat(values, MemoryMarshal.Cast<byte, ushort>((bytes[b] ??= new byte[BlockElements * 2]).AsSpan(0, n * 2)));
                });
                for (var b = 0; b < count; b++)
                {
                    var n = (int)Math.Min(BlockElements, elements - ((first + b) * BlockElements));
                    stream.Write(bytes[b], 0, n * 2);
                }
            }
        }
        Formats.Safetensors.SafetensorsWriter.Write(
            Path.Combine(directory, "model.safetensors"),
            tensors.Select((tensor, t) => new Formats.Safetensors.SafetensorsEntry(tensor.Name, "BF16", tensor.Shape, stream => WriteTensor(t, stream))));
    }

    static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
