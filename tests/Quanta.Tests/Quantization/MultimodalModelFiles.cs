using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Quantization;

/// <summary>
/// Small synthetic multimodal GGUFs with real (pseudo-random) data: a llava-style projector file
/// (<c>general.architecture = clip</c>) and an Ollama-style single-file gemma3 with its vision tower and
/// projector. Row lengths are picked to hit every row-length case: 512 (whole 256-blocks), 288 (whole
/// 32-blocks, not 256), 304 (not even 32: SigLIP's 4304-wide fc2 in miniature) and 64 (a single Q4_K block
/// would be longer than the row).
/// </summary>
internal static class MultimodalModelFiles
{
    public const int VisionWidth = 512;
    public const int VisionFfn = 304;
    public const int ProjectorWidth = 288;
    public const int TextWidth = 256;
    public const int VisionBlocks = 2;

    /// <summary>The tensors of the projector file, as (name, shape, type) in llama.cpp's mmproj spelling.</summary>
    public static List<GgufTensorInfo> ClipTensors()
    {
        var w = VisionWidth;
        var t = new List<GgufTensorInfo>
        {
            new("v.class_embd", [w], GgmlType.F32),
            new("v.patch_embd.weight", [2, 2, 3, w], GgmlType.F16),
            new("v.patch_embd.bias", [w], GgmlType.F32),
            new("v.position_embd.weight", [w, 17], GgmlType.F16),
            // mllama-style tile position table: an embedding that the skip list lets through, so the clip
            // quantizer's *embd* rule decides its type.
            new("v.tile_position_embd.weight", [w, 4], GgmlType.F16),
            new("v.pre_ln.weight", [w], GgmlType.F32),
            new("v.pre_ln.bias", [w], GgmlType.F32),
        };
        for (var i = 0; i < VisionBlocks; i++)
        {
            var p = $"v.blk.{i}.";
            foreach (var proj in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                t.Add(new(p + proj + ".weight", [w, w], GgmlType.F16));
                t.Add(new(p + proj + ".bias", [w], GgmlType.F32));
            }
            t.Add(new(p + "ln1.weight", [w], GgmlType.F32));
            t.Add(new(p + "ln1.bias", [w], GgmlType.F32));
            t.Add(new(p + "ln2.weight", [w], GgmlType.F32));
            t.Add(new(p + "ln2.bias", [w], GgmlType.F32));
            // llama.cpp's inverted names: ffn_down is HF fc1 (width -> ffn), ffn_up is fc2 (ffn -> width).
            t.Add(new(p + "ffn_down.weight", [w, VisionFfn], GgmlType.F16));
            t.Add(new(p + "ffn_down.bias", [VisionFfn], GgmlType.F32));
            t.Add(new(p + "ffn_up.weight", [VisionFfn, w], GgmlType.F16));
            t.Add(new(p + "ffn_up.bias", [w], GgmlType.F32));
        }
        t.Add(new("v.post_ln.weight", [w], GgmlType.F32));
        t.Add(new("v.post_ln.bias", [w], GgmlType.F32));
        t.Add(new("mm.0.weight", [w, ProjectorWidth], GgmlType.F16));
        t.Add(new("mm.0.bias", [ProjectorWidth], GgmlType.F32));
        t.Add(new("mm.2.weight", [ProjectorWidth, ProjectorWidth], GgmlType.F16));
        t.Add(new("mm.2.bias", [ProjectorWidth], GgmlType.F32));
        t.Add(new("mm.model.fc.weight", [64, 16], GgmlType.F16));
        return t;
    }

    public static GgufMetadata ClipMetadata()
    {
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("clip"));
        m.Add("general.type", GgufValue.String("mmproj"));
        m.Add("general.name", GgufValue.String("tiny llava projector"));
        m.Add("general.file_type", GgufValue.UInt32(1));
        m.Add("clip.has_text_encoder", GgufValue.Bool(false));
        m.Add("clip.has_vision_encoder", GgufValue.Bool(true));
        m.Add("clip.has_llava_projector", GgufValue.Bool(true));
        m.Add("clip.projector_type", GgufValue.String("mlp"));
        m.Add("clip.vision.block_count", GgufValue.UInt32(VisionBlocks));
        m.Add("clip.vision.embedding_length", GgufValue.UInt32(VisionWidth));
        m.Add("clip.vision.feed_forward_length", GgufValue.UInt32(VisionFfn));
        m.Add("clip.vision.attention.head_count", GgufValue.UInt32(8));
        return m;
    }

    /// <summary>Text tensors of a 2-block gemma3 (tied embeddings), then Ollama's vision and projector tensors.</summary>
    public static List<GgufTensorInfo> Gemma3Tensors(bool withVision = true)
    {
        var d = TextWidth;
        var t = new List<GgufTensorInfo>
        {
            new("token_embd.weight", [d, 64], GgmlType.F16),
            new("output_norm.weight", [d], GgmlType.F32),
        };
        for (var i = 0; i < 2; i++)
        {
            var p = $"blk.{i}.";
            t.Add(new(p + "attn_norm.weight", [d], GgmlType.F32));
            t.Add(new(p + "attn_q.weight", [d, d], GgmlType.F16));
            t.Add(new(p + "attn_k.weight", [d, 64], GgmlType.F16));
            t.Add(new(p + "attn_v.weight", [d, 64], GgmlType.F16));
            t.Add(new(p + "attn_q_norm.weight", [64], GgmlType.F32));
            t.Add(new(p + "attn_k_norm.weight", [64], GgmlType.F32));
            t.Add(new(p + "attn_output.weight", [d, d], GgmlType.F16));
            t.Add(new(p + "post_attention_norm.weight", [d], GgmlType.F32));
            t.Add(new(p + "ffn_norm.weight", [d], GgmlType.F32));
            t.Add(new(p + "ffn_gate.weight", [d, 512], GgmlType.F16));
            t.Add(new(p + "ffn_up.weight", [d, 512], GgmlType.F16));
            t.Add(new(p + "ffn_down.weight", [512, d], GgmlType.F16));
            t.Add(new(p + "post_ffw_norm.weight", [d], GgmlType.F32));
        }
        if (!withVision)
        {
            return t;
        }
        var w = VisionWidth;
        t.Add(new("v.patch_embedding.weight", [2, 2, 3, w], GgmlType.F16));
        t.Add(new("v.patch_embedding.bias", [w], GgmlType.F32));
        t.Add(new("v.position_embedding.weight", [w, 17], GgmlType.F16));
        for (var i = 0; i < VisionBlocks; i++)
        {
            var p = $"v.blk.{i}.";
            foreach (var proj in new[] { "attn_q", "attn_k", "attn_v", "attn_output" })
            {
                t.Add(new(p + proj + ".weight", [w, w], GgmlType.F16));
                t.Add(new(p + proj + ".bias", [w], GgmlType.F32));
            }
            t.Add(new(p + "layer_norm1.weight", [w], GgmlType.F32));
            t.Add(new(p + "layer_norm1.bias", [w], GgmlType.F32));
            t.Add(new(p + "layer_norm2.weight", [w], GgmlType.F32));
            t.Add(new(p + "layer_norm2.bias", [w], GgmlType.F32));
            t.Add(new(p + "mlp.fc1.weight", [w, VisionFfn], GgmlType.F16));
            t.Add(new(p + "mlp.fc1.bias", [VisionFfn], GgmlType.F32));
            t.Add(new(p + "mlp.fc2.weight", [VisionFfn, w], GgmlType.F16));
            t.Add(new(p + "mlp.fc2.bias", [w], GgmlType.F32));
        }
        t.Add(new("v.post_layernorm.weight", [w], GgmlType.F32));
        t.Add(new("v.post_layernorm.bias", [w], GgmlType.F32));
        // F32 on purpose: --projector-type f16 then converts it rather than copying it.
        t.Add(new("mm.mm_input_projection.weight", [w, d], GgmlType.F32));
        t.Add(new("mm.mm_soft_emb_norm.weight", [w], GgmlType.F32));
        return t;
    }

    public static GgufMetadata Gemma3Metadata()
    {
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("gemma3"));
        m.Add("general.name", GgufValue.String("tiny gemma3 with vision"));
        m.Add("general.file_type", GgufValue.UInt32(1));
        m.Add("gemma3.block_count", GgufValue.UInt32(2));
        m.Add("gemma3.embedding_length", GgufValue.UInt32(TextWidth));
        m.Add("gemma3.attention.head_count", GgufValue.UInt32(4));
        m.Add("gemma3.attention.head_count_kv", GgufValue.UInt32(1));
        m.Add("gemma3.vision.block_count", GgufValue.UInt32(VisionBlocks));
        m.Add("gemma3.vision.embedding_length", GgufValue.UInt32(VisionWidth));
        m.Add("gemma3.vision.feed_forward_length", GgufValue.UInt32(VisionFfn));
        m.Add("gemma3.mm.tokens_per_image", GgufValue.UInt32(256));
        return m;
    }

    public static string WriteClip(string path) => Write(path, ClipMetadata(), ClipTensors());

    public static string WriteGemma3(string path, bool withVision = true) => Write(path, Gemma3Metadata(), Gemma3Tensors(withVision));

    /// <summary>The values a tensor is written with: reproducible, different for every tensor, roughly Gaussian.</summary>
    public static float[] Values(string name, long count)
    {
        var random = new Random(StableHash(name));
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            // Sum of three uniforms: bell-shaped like trained weights, and an occasional larger value.
            values[i] = (random.NextSingle() + random.NextSingle() + random.NextSingle() - 1.5f) * 0.05f;
        }
        return values;
    }

    /// <summary>Decodes a tensor of any type Quanta reads to float32.</summary>
    public static float[] Decode(GgufTensor tensor)
    {
        var values = new float[tensor.Info.ElementCount];
        BlockCodecs.Get(tensor.Type).Decode(tensor.Data, values);
        return values;
    }

    static string Write(string path, GgufMetadata metadata, List<GgufTensorInfo> tensors)
    {
        using var writer = GgufWriter.Create(path, metadata, tensors, new GgufWriterOptions { FlushToDisk = false });
        foreach (var info in tensors)
        {
            var values = Values(info.Name, info.ElementCount);
            var bytes = new byte[info.ByteSize];
            BlockCodecs.Get(info.Type).Encode(values, (int)info.RowLength, [], bytes);
            writer.WriteTensorData(bytes);
        }
        writer.Commit();
        return path;
    }

    // string.GetHashCode is randomised per process; the data must be the same in every run.
    static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s)
        {
            h = unchecked(h * 31 + c);
        }
        return h;
    }
}
