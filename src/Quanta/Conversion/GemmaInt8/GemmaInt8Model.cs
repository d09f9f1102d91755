using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Quanta.Formats;
using Quanta.Formats.PyTorch;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>
/// One GGUF tensor of a converted gemma_pytorch int8 checkpoint: an int8 matrix (or a Q/K/V band of
/// <c>qkv_proj</c>) with its scalers, or a norm vector. <see cref="Shape"/> is in GGUF order (ne0 first).
/// </summary>
public sealed class GemmaInt8Tensor
{
    internal GemmaInt8Tensor(string name, GemmaInt8Matrix matrix)
    {
        Name = name;
        Matrix = matrix;
        Shape = [matrix.Columns, matrix.Rows];
    }

    internal GemmaInt8Tensor(string name, PyTorchTensor vector)
    {
        Name = name;
        Vector = vector;
        Shape = [vector.ElementCount];
    }

    /// <summary>GGUF tensor name (<c>blk.0.attn_q.weight</c>).</summary>
    public string Name { get; }

    /// <summary>GGUF dimensions, ne0 first.</summary>
    public long[] Shape { get; }

    /// <summary>The int8 matrix, for weights; null for norms.</summary>
    public GemmaInt8Matrix? Matrix { get; }

    /// <summary>The source vector, for norms; null for weights.</summary>
    public PyTorchTensor? Vector { get; }

    /// <summary>Rows (1 for a vector) and row length.</summary>
    public int Rows => Matrix?.Rows ?? 1;

    public int RowLength => Matrix?.Columns ?? (int)Vector!.ElementCount;

    /// <summary>
    /// Rows as float32. Weights: <c>int8 · scaler</c>. Norms: Gemma's RMSNorm multiplies by <c>1 + w</c> and GGUF
    /// stores <c>w + 1</c>; llama.cpp's converter adds 1 in the tensor's own dtype (a bf16 tensor gives a
    /// bf16-rounded sum), and so does this, so that both routes agree.
    /// </summary>
    public void ReadFloat32(int firstRow, int count, Span<float> destination)
    {
        if (Matrix is not null)
        {
            Matrix.Dequantize(firstRow, count, destination);
            return;
        }
        var v = Vector!;
        var bytes = v.Data;
        var size = v.ElementSize;
        for (var i = 0; i < RowLength; i++)
        {
            var element = bytes.Slice(i * size, size);
            destination[i] = v.DType switch
            {
                PyTorchDType.BFloat16 => BFloat16.ToFloat(BFloat16.FromFloat(BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(element)) + 1f)),
                PyTorchDType.Float16 => Fp16.ToFloat(Fp16.FromFloat(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(element)) + 1f)),
                PyTorchDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(element) + 1f,
                _ => throw new InvalidOperationException($"norm '{v.Name}' has dtype {v.DType}"),
            };
        }
    }

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// A gemma_pytorch int8 (<c>quant</c>) checkpoint read for conversion: its variant (named, or recognised from the
/// shapes) and its tensors under GGUF names, in llama.cpp's order and naming for gemma / gemma2 / gemma3
/// (<c>token_embd</c>, <c>blk.N.attn_q</c> ...). Metadata keys are the architecture adapter's business; the
/// variant gives it the hyperparameters. Rotary tables (<c>freqs_cis</c>) are skipped; tensors of other towers
/// (SigLIP vision) are listed in <see cref="Unmapped"/>.
/// </summary>
public sealed partial class GemmaInt8Model
{
    GemmaInt8Model(GemmaVariant variant, List<GemmaInt8Tensor> tensors, List<string> unmapped)
    {
        Variant = variant;
        Tensors = tensors;
        Unmapped = unmapped;
    }

    public GemmaVariant Variant { get; }

    public IReadOnlyList<GemmaInt8Tensor> Tensors { get; }

    /// <summary>State-dict tensors not converted (vision tower, multimodal projector ...).</summary>
    public IReadOnlyList<string> Unmapped { get; }

    /// <summary>The GGUF architecture name llama.cpp uses for the variant's generation.</summary>
    public string Architecture => Variant.Generation switch
    {
        GemmaGeneration.Gemma1 => "gemma",
        GemmaGeneration.Gemma2 => "gemma2",
        _ => "gemma3",
    };

    [GeneratedRegex(@"^model\.layers\.(\d+)\.")]
    private static partial Regex LayerPrefix();

    /// <summary>
    /// Reads the state dict of <paramref name="checkpoint"/>. <paramref name="variant"/> overrides recognition
    /// (<c>--variant</c>); either way the shapes must match the variant, or a <see cref="PyTorchFormatException"/>
    /// says which does not.
    /// </summary>
    public static GemmaInt8Model Open(PyTorchCheckpoint checkpoint, GemmaVariant? variant = null)
    {
        var measured = Measure(checkpoint);
        if (variant is null)
        {
            variant = GemmaVariant.Known.FirstOrDefault(v => Mismatch(v, measured) is null)
                ?? throw new PyTorchFormatException(checkpoint.Path, $"shapes match no known Gemma variant ({measured}); name one with --variant ({string.Join(", ", GemmaVariant.Known.Select(v => v.Name))})");
        }
        else if (Mismatch(variant, measured) is { } why)
        {
            throw new PyTorchFormatException(checkpoint.Path, $"the checkpoint is not Gemma variant '{variant.Name}': {why}");
        }
        var (tensors, unmapped) = Map(checkpoint, variant, measured.Embedder);
        return new GemmaInt8Model(variant, tensors, unmapped);
    }

    /// <summary>The known variant whose shapes <paramref name="checkpoint"/> has, or null when none matches.</summary>
    /// <exception cref="PyTorchFormatException">The checkpoint is not a gemma_pytorch state dict.</exception>
    public static GemmaVariant? Recognise(PyTorchCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var measured = Measure(checkpoint);
        return GemmaVariant.Known.FirstOrDefault(v => Mismatch(v, measured) is null);
    }

    sealed record Measured(string Embedder, GemmaGeneration Generation, int Layers, long Vocab, long Hidden, long Intermediate, long QkvRows, long AttentionWidth)
    {
        public override string ToString() =>
            $"{Generation}, {Layers} layers, hidden {Hidden}, vocab {Vocab}, intermediate {Intermediate}, qkv rows {QkvRows}, attention width {AttentionWidth}";
    }

    static Measured Measure(PyTorchCheckpoint checkpoint)
    {
        var embedder = checkpoint.Find("embedder.weight") is not null ? "embedder" : "text_token_embedder";
        var embedding = checkpoint.Find(embedder + ".weight")
            ?? throw new PyTorchFormatException(checkpoint.Path, "no embedder.weight: not a gemma_pytorch state dict");
        var layers = new SortedSet<int>();
        foreach (var t in checkpoint.Tensors)
        {
            var m = LayerPrefix().Match(t.Name);
            if (m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var layer))
            {
                layers.Add(layer);
            }
        }
        if (layers.Count == 0 || layers.Min != 0 || layers.Max != layers.Count - 1)
        {
            throw new PyTorchFormatException(checkpoint.Path, "layers are missing or not numbered 0..N-1");
        }
        var generation = checkpoint.Find("model.layers.0.self_attn.query_norm.weight") is not null ? GemmaGeneration.Gemma3
            : checkpoint.Find("model.layers.0.pre_feedforward_layernorm.weight") is not null ? GemmaGeneration.Gemma2
            : GemmaGeneration.Gemma1;
        if (embedding.Shape.Count != 2)
        {
            throw new PyTorchFormatException(checkpoint.Path, "the embedding is not 2-D");
        }
        long Dim(string name, int axis) =>
            checkpoint[name].Shape is { Count: 2 } s ? s[axis] : throw new PyTorchFormatException(checkpoint.Path, $"'{name}' is not 2-D");
        return new Measured(
            embedder,
            generation,
            layers.Count,
            embedding.Shape[0],
            embedding.Shape[1],
            Dim("model.layers.0.mlp.gate_proj.weight", 0),
            Dim("model.layers.0.self_attn.qkv_proj.weight", 0),
            Dim("model.layers.0.self_attn.o_proj.weight", 1));
    }

    static string? Mismatch(GemmaVariant v, Measured m)
    {
        var problems = new List<string>();
        void Check(string what, long expected, long actual)
        {
            if (expected != actual)
            {
                problems.Add($"{what} is {actual}, expected {expected}");
            }
        }
        if (v.Generation != m.Generation)
        {
            problems.Add($"norms say {m.Generation}, the variant is {v.Generation}");
        }
        Check("layer count", v.Layers, m.Layers);
        Check("hidden size", v.Hidden, m.Hidden);
        Check("vocabulary", v.Vocab, m.Vocab);
        Check("intermediate size", v.Intermediate, m.Intermediate);
        Check("qkv_proj rows", v.QkvRows, m.QkvRows);
        Check("o_proj columns", (long)v.Heads * v.HeadDim, m.AttentionWidth);
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    static (List<GemmaInt8Tensor>, List<string>) Map(PyTorchCheckpoint checkpoint, GemmaVariant v, string embedder)
    {
        var tensors = new List<GemmaInt8Tensor>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        void Weight(string gguf, string module)
        {
            tensors.Add(new GemmaInt8Tensor(gguf, GemmaInt8Matrix.Open(checkpoint, module)));
            used.Add(module + ".weight");
            used.Add(module + ".weight_scaler");
        }
        void Norm(string gguf, string name)
        {
            var t = checkpoint[name];
            if (t.Shape.Count != 1 || !t.IsContiguous || t.DType is not (PyTorchDType.BFloat16 or PyTorchDType.Float16 or PyTorchDType.Float32))
            {
                throw new PyTorchFormatException(checkpoint.Path, $"norm '{name}' is {t.DType} [{string.Join(", ", t.Shape)}]; expected a float vector");
            }
            tensors.Add(new GemmaInt8Tensor(gguf, t));
            used.Add(name);
        }

        Weight("token_embd.weight", embedder);
        for (var i = 0; i < v.Layers; i++)
        {
            var p = $"model.layers.{i}.";
            var b = $"blk.{i}.";
            Norm(b + "attn_norm.weight", p + "input_layernorm.weight");
            var qkv = GemmaInt8Matrix.Open(checkpoint, p + "self_attn.qkv_proj");
            var q = v.Heads * v.HeadDim;
            var kv = v.KvHeads * v.HeadDim;
            tensors.Add(new GemmaInt8Tensor(b + "attn_q.weight", qkv.SliceRows(0, q)));
            tensors.Add(new GemmaInt8Tensor(b + "attn_k.weight", qkv.SliceRows(q, kv)));
            tensors.Add(new GemmaInt8Tensor(b + "attn_v.weight", qkv.SliceRows(q + kv, kv)));
            used.Add(p + "self_attn.qkv_proj.weight");
            used.Add(p + "self_attn.qkv_proj.weight_scaler");
            if (v.Generation == GemmaGeneration.Gemma3)
            {
                Norm(b + "attn_q_norm.weight", p + "self_attn.query_norm.weight");
                Norm(b + "attn_k_norm.weight", p + "self_attn.key_norm.weight");
            }
            Weight(b + "attn_output.weight", p + "self_attn.o_proj");
            if (v.Generation == GemmaGeneration.Gemma1)
            {
                // Gemma 1's post_attention_layernorm is the pre-MLP norm.
                Norm(b + "ffn_norm.weight", p + "post_attention_layernorm.weight");
            }
            else
            {
                Norm(b + "post_attention_norm.weight", p + "post_attention_layernorm.weight");
                Norm(b + "ffn_norm.weight", p + "pre_feedforward_layernorm.weight");
            }
            Weight(b + "ffn_gate.weight", p + "mlp.gate_proj");
            Weight(b + "ffn_up.weight", p + "mlp.up_proj");
            Weight(b + "ffn_down.weight", p + "mlp.down_proj");
            if (v.Generation != GemmaGeneration.Gemma1)
            {
                Norm(b + "post_ffw_norm.weight", p + "post_feedforward_layernorm.weight");
            }
        }
        Norm("output_norm.weight", "model.norm.weight");
        var unmapped = checkpoint.Tensors
            .Select(t => t.Name)
            .Where(n => !used.Contains(n) && !n.EndsWith("freqs_cis", StringComparison.Ordinal))
            .ToList();
        return (tensors, unmapped);
    }
}
