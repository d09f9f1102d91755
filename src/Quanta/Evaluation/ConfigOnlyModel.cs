using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Evaluation;

namespace Quanta.Evaluation;

/// <summary>
/// A model known only from its Hugging Face <c>config.json</c>, for <c>quanta plan</c>: the GGUF tensors (names and
/// shapes, in the checkpoint's 16-bit type) and hyperparameter keys the converter would write for the common dense
/// families (llama, mistral, qwen2, gemma2, gemma3; a multimodal config's <c>text_config</c>, without the vision
/// tower), and a stand-in tokenizer of the vocabulary's size, so that every preset can be planned without a byte of
/// weights. The tensor bytes are exact for these families; the metadata (the tokenizer's token strings above all)
/// is an estimate, which <see cref="MetadataIsEstimated"/> marks.
/// </summary>
public sealed class ConfigOnlyModel : ITensorSource
{
    /// <summary>The token strings' assumed mean length in bytes (Llama 2's and Gemma's vocabularies average 6–8).</summary>
    const int AssumedTokenBytes = 7;

    ConfigOnlyModel(GgufMetadata metadata, IReadOnlyList<ISourceTensor> tensors)
    {
        Metadata = metadata;
        Tensors = tensors;
    }

    public GgufMetadata Metadata { get; }

    public IReadOnlyList<ISourceTensor> Tensors { get; }

    public IReadOnlyList<string> FilePaths => [];

    /// <summary>Always true: the metadata size is estimated.</summary>
    public static bool MetadataIsEstimated => true;

    /// <summary>Reads <paramref name="path"/> (a config.json).</summary>
    /// <exception cref="EvaluationInputException">Not a JSON object, a missing field, or a family this cannot lay out.</exception>
    public static ConfigOnlyModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new EvaluationInputException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new EvaluationInputException($"{path}: not a JSON object");
            }
            var text = root.TryGetProperty("text_config", out var t) && t.ValueKind == JsonValueKind.Object ? t : root;
            return Create(path, root, text);
        }
    }

    static ConfigOnlyModel Create(string path, JsonElement root, JsonElement text)
    {
        long Int(string name, long? fallback = null) =>
            text.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64()
            : fallback ?? throw new EvaluationInputException($"{path}: no '{name}'");
        var modelType = (text.TryGetProperty("model_type", out var m) ? m.GetString() : null)
            ?? (root.TryGetProperty("model_type", out var r) ? r.GetString() : null) ?? "";
        var arch = modelType switch
        {
            "llama" or "mistral" => "llama",
            "qwen2" => "qwen2",
            "gemma2" => "gemma2",
            "gemma3" or "gemma3_text" => "gemma3",
            _ => throw new EvaluationInputException($"{path}: model_type '{modelType}' cannot be planned from config.json alone (llama, mistral, qwen2, gemma2, gemma3 can); give the checkpoint folder or a GGUF file"),
        };
        var isGemma = arch.StartsWith("gemma", StringComparison.Ordinal);
        var hidden = Int("hidden_size");
        var ffn = Int("intermediate_size");
        var layers = Int("num_hidden_layers");
        var heads = Int("num_attention_heads");
        var kvHeads = Int("num_key_value_heads", heads);
        var headDim = Int("head_dim", hidden / heads);
        // The text_config of Gemma 3's multimodal configs leaves out defaults transformers fills in.
        var vocabulary = Int("vocab_size", arch == "gemma3" ? 262208 : null);
        var tied = root.TryGetProperty("tie_word_embeddings", out var tie) ? tie.ValueKind == JsonValueKind.True
            : text.TryGetProperty("tie_word_embeddings", out tie) ? tie.ValueKind == JsonValueKind.True
            : isGemma;
        var dtype = root.TryGetProperty("torch_dtype", out var d) && d.GetString() == "float16" ? GgmlType.F16 : GgmlType.BF16;

        var metadata = new GgufMetadata();
        metadata.Set("general.architecture", GgufValue.String(arch));
        metadata.Set("general.name", GgufValue.String(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? "model"));
        metadata.Set($"{arch}.context_length", GgufValue.UInt32((uint)Int("max_position_embeddings", 4096)));
        metadata.Set($"{arch}.embedding_length", GgufValue.UInt32((uint)hidden));
        metadata.Set($"{arch}.block_count", GgufValue.UInt32((uint)layers));
        metadata.Set($"{arch}.feed_forward_length", GgufValue.UInt32((uint)ffn));
        metadata.Set($"{arch}.attention.head_count", GgufValue.UInt32((uint)heads));
        metadata.Set($"{arch}.attention.head_count_kv", GgufValue.UInt32((uint)kvHeads));
        metadata.Set($"{arch}.attention.key_length", GgufValue.UInt32((uint)headDim));
        metadata.Set($"{arch}.attention.value_length", GgufValue.UInt32((uint)headDim));
        metadata.Set($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Float32(text.TryGetProperty("rms_norm_eps", out var eps) ? (float)eps.GetDouble() : 1e-6f));
        metadata.Set($"{arch}.rope.freq_base", GgufValue.Float32(text.TryGetProperty("rope_theta", out var theta) ? (float)theta.GetDouble() : 10000f));
        if (isGemma)
        {
            metadata.Set($"{arch}.attention.sliding_window", GgufValue.UInt32((uint)Int("sliding_window", 4096)));
        }
        metadata.Set("general.file_type", GgufValue.UInt32(dtype == GgmlType.F16 ? 1u : 32u));
        // The tokenizer: arrays of the vocabulary's size (tokens of an assumed mean length, scores, types).
        metadata.Set("tokenizer.ggml.model", GgufValue.String(isGemma ? "llama" : "gpt2"));
        var token = new string('x', AssumedTokenBytes);
        metadata.Set("tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of(Enumerable.Repeat(token, (int)vocabulary).ToArray())));
        metadata.Set("tokenizer.ggml.scores", GgufValue.Array(GgufArray.Of(new float[vocabulary])));
        metadata.Set("tokenizer.ggml.token_type", GgufValue.Array(GgufArray.Of(new int[vocabulary])));

        var tensors = new List<ISourceTensor>();
        void Add(string name, GgmlType type, params long[] shape) => tensors.Add(new ShapeOnlyTensor(new GgufTensorInfo(name, shape, type)));
        Add("token_embd.weight", dtype, hidden, vocabulary);
        for (var i = 0; i < layers; i++)
        {
            var b = $"blk.{i}.";
            Add(b + "attn_norm.weight", GgmlType.F32, hidden);
            Add(b + "attn_q.weight", dtype, hidden, heads * headDim);
            Add(b + "attn_k.weight", dtype, hidden, kvHeads * headDim);
            Add(b + "attn_v.weight", dtype, hidden, kvHeads * headDim);
            if (arch == "qwen2")
            {
                Add(b + "attn_q.bias", GgmlType.F32, heads * headDim);
                Add(b + "attn_k.bias", GgmlType.F32, kvHeads * headDim);
                Add(b + "attn_v.bias", GgmlType.F32, kvHeads * headDim);
            }
            if (arch == "gemma3")
            {
                Add(b + "attn_q_norm.weight", GgmlType.F32, headDim);
                Add(b + "attn_k_norm.weight", GgmlType.F32, headDim);
            }
            Add(b + "attn_output.weight", dtype, heads * headDim, hidden);
            if (isGemma)
            {
                Add(b + "post_attention_norm.weight", GgmlType.F32, hidden);
                Add(b + "post_ffw_norm.weight", GgmlType.F32, hidden);
            }
            Add(b + "ffn_norm.weight", GgmlType.F32, hidden);
            Add(b + "ffn_gate.weight", dtype, hidden, ffn);
            Add(b + "ffn_up.weight", dtype, hidden, ffn);
            Add(b + "ffn_down.weight", dtype, ffn, hidden);
        }
        Add("output_norm.weight", GgmlType.F32, hidden);
        if (!tied)
        {
            Add("output.weight", dtype, hidden, vocabulary);
        }
        return new ConfigOnlyModel(metadata, tensors);
    }

    /// <summary>A tensor with a name, a shape and a type, and no data: planning reads no weights.</summary>
    sealed class ShapeOnlyTensor(GgufTensorInfo info) : ISourceTensor
    {
        public GgufTensorInfo Info => info;

        public int ShardIndex => 0;

        public long FileOffset => 0;

        public void Read(long start, Span<byte> destination) =>
            throw new NotSupportedException("a model planned from config.json has no weights to read");
    }
}
