using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>
/// <c>quanta export --format gemma-int8</c>: a Gemma GGUF (gemma, gemma2 or gemma3; any tensor type) back to a
/// gemma_pytorch-style int8 checkpoint: names mapped back, Q, K and V rows concatenated into <c>qkv_proj</c>, norms
/// without GGUF's +1, matrices as int8 + bf16 per-row scaler. Q8_0 rows whose blocks share one scale (what
/// <c>quanta convert</c> writes from an int8 checkpoint) keep their int8 values and scale; every other row is
/// dequantized and quantized with gemma_pytorch's rule.
/// </summary>
public static class GemmaInt8GgufExport
{
    /// <summary>The safetensors file the export writes.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>Writes <c>model.safetensors</c> and <c>config.json</c> into <paramref name="directory"/>; returns the tensors' count.</summary>
    /// <exception cref="ConversionException">Not a Gemma GGUF, or a tensor is missing.</exception>
    public static int Write(GgufFile gguf, string directory)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        var architecture = gguf.Metadata.TryGetValue(GgufKeys.Architecture, out var a) ? a.AsString() : null;
        var generation = architecture switch
        {
            "gemma" => GemmaGeneration.Gemma1,
            "gemma2" => GemmaGeneration.Gemma2,
            "gemma3" => GemmaGeneration.Gemma3,
            _ => throw new ConversionException($"{gguf.Path}: architecture '{architecture}' is not Gemma; the gemma-int8 export reads gemma, gemma2 and gemma3 models"),
        };
        uint Key(string name) => gguf.Metadata.LenientInteger($"{architecture}.{name}") is { } n
            ? (uint)n
            : throw new ConversionException($"{gguf.Path}: no {architecture}.{name}");
        var layers = (int)Key("block_count");
        var heads = (int)Key("attention.head_count");
        var kvHeads = gguf.Metadata.ContainsKey($"{architecture}.attention.head_count_kv") ? (int)Key("attention.head_count_kv") : heads;
        var hidden = (int)Key("embedding_length");
        var headDim = gguf.Metadata.ContainsKey($"{architecture}.attention.key_length") ? (int)Key("attention.key_length") : hidden / heads;

        GgufTensor Tensor(string name) => gguf.FindTensor(name) ?? throw new ConversionException($"{gguf.Path}: no tensor '{name}'");
        var tensors = new List<GemmaInt8ExportTensor>();
        void Matrix(string module, params string[] names)
        {
            var parts = names.Select(n => new Rows(Tensor(n))).ToArray();
            if (parts.Any(p => p.Columns != parts[0].Columns))
            {
                throw new ConversionException($"{gguf.Path}: {string.Join(", ", names)} differ in row length; they cannot form '{module}'");
            }
            var stacked = new StackedRows(parts);
            tensors.Add(new GemmaInt8QuantizedExport(module, stacked.RowCount, parts[0].Columns, stacked.Read, stacked.TryReadExact));
        }
        void Norm(string name, string gguName)
        {
            var rows = new Rows(Tensor(gguName));
            var values = new float[rows.Columns * rows.RowCount];
            for (var r = 0; r < rows.RowCount; r++)
            {
                rows.Read(r, values.AsSpan(r * rows.Columns, rows.Columns));
            }
            // gemma_pytorch's RMSNorm multiplies by 1 + w; GGUF holds w + 1.
            for (var i = 0; i < values.Length; i++)
            {
                values[i] -= 1f;
            }
            tensors.Add(new GemmaInt8PlainExport(name, [values.Length], values));
        }

        Matrix("embedder", "token_embd.weight");
        for (var i = 0; i < layers; i++)
        {
            var p = $"model.layers.{i}.";
            var b = $"blk.{i}.";
            Matrix(p + "self_attn.qkv_proj", b + "attn_q.weight", b + "attn_k.weight", b + "attn_v.weight");
            Matrix(p + "self_attn.o_proj", b + "attn_output.weight");
            Matrix(p + "mlp.gate_proj", b + "ffn_gate.weight");
            Matrix(p + "mlp.up_proj", b + "ffn_up.weight");
            Matrix(p + "mlp.down_proj", b + "ffn_down.weight");
            Norm(p + "input_layernorm.weight", b + "attn_norm.weight");
            if (generation == GemmaGeneration.Gemma1)
            {
                Norm(p + "post_attention_layernorm.weight", b + "ffn_norm.weight");
            }
            else
            {
                Norm(p + "post_attention_layernorm.weight", b + "post_attention_norm.weight");
                Norm(p + "pre_feedforward_layernorm.weight", b + "ffn_norm.weight");
                Norm(p + "post_feedforward_layernorm.weight", b + "post_ffw_norm.weight");
            }
            if (generation == GemmaGeneration.Gemma3)
            {
                Norm(p + "self_attn.query_norm.weight", b + "attn_q_norm.weight");
                Norm(p + "self_attn.key_norm.weight", b + "attn_k_norm.weight");
            }
        }
        Norm("model.norm.weight", "output_norm.weight");

        Directory.CreateDirectory(directory);
        GemmaInt8Export.Write(Path.Combine(directory, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        var embedding = Tensor("token_embd.weight");
        var variant = new GemmaVariant("gguf", generation, layers, heads, kvHeads, hidden,
            (int)Key("feed_forward_length"), headDim, checked((int)embedding.Shape[1]));
        WriteConfig(Path.Combine(directory, "config.json"), variant, gguf);
        return tensors.Sum(t => t is GemmaInt8QuantizedExport ? 2 : 1);
    }

    /// <summary>
    /// gemma_pytorch's <c>GemmaConfig</c> fields (the checkpoint itself has none), with the known variant's name
    /// when the shapes are one, so that <c>--variant</c> can be given to gemma_pytorch's scripts.
    /// </summary>
    static void WriteConfig(string path, GemmaVariant v, GgufFile gguf)
    {
        var known = GemmaVariant.Known.FirstOrDefault(k => k with { Name = v.Name } == v);
        var architecture = gguf.Metadata[GgufKeys.Architecture].AsString();
        var config = new Dictionary<string, object?>
        {
            ["architecture"] = v.Generation switch { GemmaGeneration.Gemma1 => "gemma_1", GemmaGeneration.Gemma2 => "gemma_2", _ => "gemma_3" },
            ["variant"] = known?.Name,
            ["vocab_size"] = v.Vocab,
            ["num_hidden_layers"] = v.Layers,
            ["num_attention_heads"] = v.Heads,
            ["num_key_value_heads"] = v.KvHeads,
            ["hidden_size"] = v.Hidden,
            ["intermediate_size"] = v.Intermediate,
            ["head_dim"] = v.HeadDim,
            ["rms_norm_eps"] = gguf.Metadata.TryGetValue($"{architecture}.attention.layer_norm_rms_epsilon", out var eps) ? eps.AsFloat32() : 1e-6f,
            ["max_position_embeddings"] = gguf.Metadata.LenientInteger($"{architecture}.context_length"),
            ["dtype"] = "bfloat16",
            ["quant"] = true,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Rows of one GGUF tensor as float32, whatever its type, and its Q8_0 rows as gemma int8 when exact.</summary>
    sealed class Rows
    {
        readonly GgufTensor _tensor;
        readonly int _rowBytes;
        readonly IBlockCodec? _codec;

        public Rows(GgufTensor tensor)
        {
            _tensor = tensor;
            Columns = checked((int)tensor.Shape[0]);
            RowCount = checked((int)(tensor.Info.ElementCount / Columns));
            _rowBytes = checked((int)GgmlTypeInfo.Of(tensor.Type).RowBytes(Columns));
            _codec = GgmlTypeInfo.Of(tensor.Type).IsQuantized ? BlockCodecs.Get(tensor.Type) : null;
        }

        public int Columns { get; }

        public int RowCount { get; }

        public void Read(int row, Span<float> destination)
        {
            var bytes = _tensor.Slice((long)row * _rowBytes, _rowBytes);
            switch (_tensor.Type)
            {
                case GgmlType.F32:
                    MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                    break;
                case GgmlType.F16:
                    Fp16.ToFloat(MemoryMarshal.Cast<byte, ushort>(bytes), destination[..Columns]);
                    break;
                case GgmlType.BF16:
                    BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(bytes), destination[..Columns]);
                    break;
                default:
                    _codec!.Decode(bytes, destination[..Columns]);
                    break;
            }
        }

        public bool TryReadExact(int row, Span<sbyte> quants, out float scaler)
        {
            scaler = 0;
            // The scaler is written as bf16: only a Q8_0 scale with no more precision than bf16 survives unchanged.
            return _tensor.Type == GgmlType.Q8_0
                && GemmaInt8Rows.TryDecodeQ8_0(_tensor.Slice((long)row * _rowBytes, _rowBytes), quants, out scaler)
                && BFloat16.ToFloat(BFloat16.FromFloat(scaler)) == scaler;
        }
    }

    /// <summary>Tensors stacked row-wise (Q, K, V into <c>qkv_proj</c>).</summary>
    sealed class StackedRows(Rows[] parts)
    {
        public int RowCount { get; } = parts.Sum(p => p.RowCount);

        (Rows Part, int Row) Locate(int row)
        {
            foreach (var part in parts)
            {
                if (row < part.RowCount)
                {
                    return (part, row);
                }
                row -= part.RowCount;
            }
            throw new ArgumentOutOfRangeException(nameof(row));
        }

        public void Read(int firstRow, int count, Span<float> destination)
        {
            var columns = parts[0].Columns;
            for (var r = 0; r < count; r++)
            {
                var (part, row) = Locate(firstRow + r);
                part.Read(row, destination.Slice(r * columns, columns));
            }
        }

        public bool TryReadExact(int row, Span<sbyte> quants, out float scaler)
        {
            var (part, local) = Locate(row);
            return part.TryReadExact(local, quants, out scaler);
        }
    }
}
