using Quanta.Codecs;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// A linear layer's matrix: F16 and F32 ones in memory with tinyBLAS's order (<see cref="DenseRows"/>), quantized
/// ones read in place through <see cref="MatMul"/> (their tiles are ggml's).
/// </summary>
internal sealed class VisionMatrix
{
    public VisionMatrix(GgufTensor tensor)
    {
        if (tensor.Type is Formats.GgmlType.F16 or Formats.GgmlType.F32)
        {
            Dense = DenseRows.FromTensor(tensor);
            (Columns, Rows) = (Dense.Columns, Dense.Rows);
        }
        else
        {
            Quantized = new LinearWeights(tensor);
            (Columns, Rows) = (Quantized.Columns, Quantized.Rows);
        }
    }

    public DenseRows? Dense { get; }

    public LinearWeights? Quantized { get; }

    public int Columns { get; }

    public int Rows { get; }
}

/// <summary>One encoder block's weights.</summary>
internal sealed record VisionBlock(
    VisionMatrix Query, float[] QueryBias, VisionMatrix Key, float[] KeyBias, VisionMatrix Value, float[] ValueBias,
    VisionMatrix Output, float[] OutputBias, float[] Norm1Weight, float[] Norm1Bias, float[] Norm2Weight, float[] Norm2Bias,
    VisionMatrix FeedForwardIn, float[] FeedForwardInBias, VisionMatrix FeedForwardOut, float[] FeedForwardOutBias);

/// <summary>
/// The tower's and projector's tensors found by their names in either layout: llama.cpp's projector file
/// (<c>v.patch_embd</c>, <c>v.blk.N.attn_out</c>, <c>ln1</c>, <c>mm.0</c> …) or Ollama's single gemma3 file
/// (<c>v.patch_embedding</c>, <c>attn_output</c>, <c>layer_norm1</c>, <c>mlp.fc1</c>, <c>mm.mm_input_projection</c> …).
/// Small vectors are decoded to float once; matrices stay in the mapped file.
/// </summary>
internal sealed class VisionTensors
{
    public VisionTensors(GgufFile file, VisionHyperparameters p)
    {
        var ollama = p.Layout == VisionLayout.OllamaGemma3;
        var w = p.Width;
        _file = file;
        PatchKernel = DenseRows.FromTensor(Require(file, ollama ? "v.patch_embedding.weight" : "v.patch_embd.weight"), 3 * p.PatchSize * p.PatchSize, w);
        PatchBias = Optional(file, ollama ? "v.patch_embedding.bias" : "v.patch_embd.bias", w);
        ClassEmbedding = ollama ? null : Optional(file, "v.class_embd", w);
        var positions = p.Patches + (ClassEmbedding is null ? 0 : 1);
        PositionEmbedding = Vector(file, ollama ? "v.position_embedding.weight" : "v.position_embd.weight", (long)w * positions, allowLonger: true);
        PreNormWeight = ollama ? null : Optional(file, "v.pre_ln.weight", w);
        PreNormBias = ollama ? null : Optional(file, "v.pre_ln.bias", w);
        PostNormWeight = Optional(file, ollama ? "v.post_layernorm.weight" : "v.post_ln.weight", w);
        PostNormBias = Optional(file, ollama ? "v.post_layernorm.bias" : "v.post_ln.bias", w);
        Blocks = new VisionBlock[p.BlocksRun];
        for (var i = 0; i < p.BlocksRun; i++)
        {
            var b = $"v.blk.{i}.";
            string ffnIn, ffnOut;
            if (ollama)
            {
                (ffnIn, ffnOut) = ("mlp.fc1", "mlp.fc2");
            }
            else
            {
                // clip.cpp (Feb 2025) reads ffn_down as the first FFN matrix (LLaVA's and Google's gemma3 files);
                // gguf-py's newer projector files call it ffn_up: the one whose rows are the feed-forward width is it.
                var down = Require(file, b + "ffn_down.weight");
                (ffnIn, ffnOut) = down.Shape[0] == w && down.Shape[1] == p.FeedForward ? ("ffn_down", "ffn_up") : ("ffn_up", "ffn_down");
            }
            var attnOut = ollama ? "attn_output" : "attn_out";
            var norm1 = ollama ? "layer_norm1" : "ln1";
            var norm2 = ollama ? "layer_norm2" : "ln2";
            Blocks[i] = new VisionBlock(
                Matrix(file, b + "attn_q.weight", w, w), Vector(file, b + "attn_q.bias", w),
                Matrix(file, b + "attn_k.weight", w, w), Vector(file, b + "attn_k.bias", w),
                Matrix(file, b + "attn_v.weight", w, w), Vector(file, b + "attn_v.bias", w),
                Matrix(file, b + attnOut + ".weight", w, w), Vector(file, b + attnOut + ".bias", w),
                Vector(file, b + norm1 + ".weight", w), Vector(file, b + norm1 + ".bias", w),
                Vector(file, b + norm2 + ".weight", w), Vector(file, b + norm2 + ".bias", w),
                Matrix(file, b + ffnIn + ".weight", w, p.FeedForward), Vector(file, b + ffnIn + ".bias", p.FeedForward),
                Matrix(file, b + ffnOut + ".weight", p.FeedForward, w), Vector(file, b + ffnOut + ".bias", w));
        }
        if (p.Projector == VisionProjectorType.LlavaMlp)
        {
            var mm0 = new VisionMatrix(Require(file, "mm.0.weight"));
            var mm2 = new VisionMatrix(Require(file, "mm.2.weight"));
            if (mm0.Columns != w || mm2.Columns != mm0.Rows)
            {
                throw new GgufFormatException($"{file.Path}: mm.0 ({mm0.Columns} → {mm0.Rows}) and mm.2 ({mm2.Columns} → {mm2.Rows}) do not follow a tower of width {w}");
            }
            Projector0 = mm0;
            Projector0Bias = Vector(file, "mm.0.bias", mm0.Rows);
            Projector2 = mm2;
            Projector2Bias = Vector(file, "mm.2.bias", mm2.Rows);
            EmbeddingLength = mm2.Rows;
        }
        else
        {
            SoftEmbeddingNorm = Vector(file, ollama ? "mm.mm_soft_emb_norm.weight" : "mm.soft_emb_norm.weight", w);
            var projection = Require(file, ollama ? "mm.mm_input_projection.weight" : "mm.input_projection.weight");
            if (projection.Shape.Count != 2 || projection.Shape[1] != w)
            {
                throw new GgufFormatException($"{file.Path}: {projection.Name} should be [text width, {w}]");
            }
            InputProjection = DenseRows.Transposed(projection);
            EmbeddingLength = InputProjection.Rows;
        }
    }

    readonly GgufFile _file;

    public string Path => _file.Path;

    public DenseRows PatchKernel { get; }

    public float[]? PatchBias { get; }

    public float[]? ClassEmbedding { get; }

    /// <summary>Position rows, decoded, <c>Width</c> floats each.</summary>
    public float[] PositionEmbedding { get; }

    public float[]? PreNormWeight { get; }

    public float[]? PreNormBias { get; }

    public float[]? PostNormWeight { get; }

    public float[]? PostNormBias { get; }

    public VisionBlock[] Blocks { get; }

    public VisionMatrix? Projector0 { get; }

    public float[]? Projector0Bias { get; }

    public VisionMatrix? Projector2 { get; }

    public float[]? Projector2Bias { get; }

    public float[]? SoftEmbeddingNorm { get; }

    public DenseRows? InputProjection { get; }

    /// <summary>The language model's width the projector writes.</summary>
    public int EmbeddingLength { get; }

    static GgufTensor Require(GgufFile file, string name) =>
        file.FindTensor(name) ?? throw new GgufFormatException($"{file.Path}: vision tensor '{name}' is missing");

    static VisionMatrix Matrix(GgufFile file, string name, int columns, int rows)
    {
        var tensor = Require(file, name);
        if (tensor.Shape.Count != 2)
        {
            throw new GgufFormatException($"{file.Path}: '{name}' should have 2 dimensions, not {tensor.Shape.Count}");
        }
        var weights = new VisionMatrix(tensor);
        if (weights.Columns != columns || weights.Rows != rows)
        {
            throw new GgufFormatException($"{file.Path}: '{name}' is [{weights.Columns}, {weights.Rows}], not [{columns}, {rows}]");
        }
        return weights;
    }

    static float[]? Optional(GgufFile file, string name, int length) =>
        file.FindTensor(name) is null ? null : Vector(file, name, length);

    static float[] Vector(GgufFile file, string name, long length, bool allowLonger = false)
    {
        var tensor = Require(file, name);
        var elements = tensor.Info.ElementCount;
        if (elements != length && !(allowLonger && elements > length))
        {
            throw new GgufFormatException($"{file.Path}: '{name}' has {elements} elements, not {length}");
        }
        return Decode(tensor);
    }

    internal static float[] Decode(GgufTensor tensor)
    {
        if (!BlockCodecs.TryGet(tensor.Type, out var codec))
        {
            throw new GgufFormatException($"{tensor.FilePath}: '{tensor.Name}' has a type the vision tower cannot read");
        }
        var values = new float[checked((int)tensor.Info.ElementCount)];
        codec.Decode(tensor.Data, values);
        return values;
    }
}
