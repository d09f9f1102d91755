using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Quantization;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// Tiny random-weight vision towers for the tests, written with GgufWriter: a LLaVA 1.5 projector file (CLIP ViT,
/// 32-pixel images, 8-pixel patches, width 64, 3 blocks of which llama.cpp runs 2, MLP projector to 96), its 1.6
/// any-resolution twin, and a gemma3 projector (SigLIP, 32-pixel images, 4-pixel patches pooled 2×2 to 16
/// tokens, projected to the tiny gemma3 text model's 256). The values come from MultimodalModelFiles.Values
/// (seeded by the tensor name), scaled so activations stay near unit size; <c>weightType</c> is the type of
/// every 2-D weight (F16 or Q8_0, as llama-llava-clip-quantize-cli leaves the 4-D patch kernel in F16).
/// </summary>
internal static class TinyVisionFiles
{
    public const int ClipWidth = 64;
    public const int ClipFfn = 128;
    public const int ClipProjection = 96;

    public static string WriteLlava(string path, GgmlType weightType, bool anyResolution = false, Func<string, float[], float[]>? patch = null,
        int width = ClipWidth, GgmlType? projectorType = null, int projection = ClipProjection)
    {
        var ffn = 2 * width;
        var mmType = projectorType ?? weightType;
        // llama-llava-clip-quantize-cli keeps embeddings in Q8_0 when the tower is a k-quant (get_rows needs it).
        var embeddingType = weightType == GgmlType.Q4_K ? GgmlType.Q8_0 : weightType;
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("clip"));
        m.Add("general.name", GgufValue.String("tiny llava"));
        m.Add("general.description", GgufValue.String("random weights for tests"));
        m.Add("general.file_type", GgufValue.UInt32(weightType == GgmlType.Q8_0 ? 7u : 1u));
        m.Add("clip.has_text_encoder", GgufValue.Bool(false));
        m.Add("clip.has_vision_encoder", GgufValue.Bool(true));
        m.Add("clip.has_llava_projector", GgufValue.Bool(true));
        m.Add("clip.projector_type", GgufValue.String("mlp"));
        m.Add("clip.use_gelu", GgufValue.Bool(false));
        m.Add("clip.vision.image_size", GgufValue.UInt32(32));
        m.Add("clip.vision.patch_size", GgufValue.UInt32(8));
        m.Add("clip.vision.embedding_length", GgufValue.UInt32((uint)width));
        m.Add("clip.vision.feed_forward_length", GgufValue.UInt32((uint)ffn));
        m.Add("clip.vision.projection_dim", GgufValue.UInt32((uint)projection));
        m.Add("clip.vision.attention.head_count", GgufValue.UInt32(4));
        m.Add("clip.vision.attention.layer_norm_epsilon", GgufValue.Float32(1e-5f));
        m.Add("clip.vision.block_count", GgufValue.UInt32(3));
        m.Add("clip.vision.image_mean", GgufValue.Array(GgufArray.Of([0.48145466f, 0.4578275f, 0.40821073f])));
        m.Add("clip.vision.image_std", GgufValue.Array(GgufArray.Of([0.26862954f, 0.26130258f, 0.27577711f])));
        if (anyResolution)
        {
            m.Add("clip.vision.mm_patch_merge_type", GgufValue.String("spatial_unpad"));
            m.Add("clip.vision.image_grid_pinpoints", GgufValue.Array(GgufArray.Of([64, 32, 32, 64, 64, 64])));
            m.Add("clip.vision.image_crop_resolution", GgufValue.UInt32(32));
        }
        var w = width;
        var t = new List<(GgufTensorInfo Info, Kind Kind)>
        {
            (new("v.class_embd", [w], GgmlType.F32), Kind.Embedding),
            (new("v.patch_embd.weight", [8, 8, 3, w], GgmlType.F16), Kind.Weight),
            (new("v.position_embd.weight", [w, 17], embeddingType), Kind.Embedding),
            (new("v.pre_ln.weight", [w], GgmlType.F32), Kind.NormWeight),
            (new("v.pre_ln.bias", [w], GgmlType.F32), Kind.Bias),
        };
        for (var i = 0; i < 3; i++)
        {
            var b = $"v.blk.{i}.";
            foreach (var proj in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                t.Add((new(b + proj + ".weight", [w, w], weightType), Kind.Weight));
                t.Add((new(b + proj + ".bias", [w], GgmlType.F32), Kind.Bias));
            }
            t.Add((new(b + "ln1.weight", [w], GgmlType.F32), Kind.NormWeight));
            t.Add((new(b + "ln1.bias", [w], GgmlType.F32), Kind.Bias));
            t.Add((new(b + "ln2.weight", [w], GgmlType.F32), Kind.NormWeight));
            t.Add((new(b + "ln2.bias", [w], GgmlType.F32), Kind.Bias));
            // clip.cpp's names: ffn_down is the first FFN matrix (width → ffn).
            t.Add((new(b + "ffn_down.weight", [w, ffn], weightType), Kind.Weight));
            t.Add((new(b + "ffn_down.bias", [ffn], GgmlType.F32), Kind.Bias));
            t.Add((new(b + "ffn_up.weight", [ffn, w], weightType), Kind.Weight));
            t.Add((new(b + "ffn_up.bias", [w], GgmlType.F32), Kind.Bias));
        }
        t.Add((new("mm.0.weight", [w, projection], mmType), Kind.Weight));
        t.Add((new("mm.0.bias", [projection], GgmlType.F32), Kind.Bias));
        t.Add((new("mm.2.weight", [projection, projection], mmType), Kind.Weight));
        t.Add((new("mm.2.bias", [projection], GgmlType.F32), Kind.Bias));
        return Write(path, m, t, patch);
    }

    public const int SiglipWidth = 64;
    public const int SiglipFfn = 128;

    /// <summary>A gemma3 projector file (2026 gguf-py names: fc1 = ffn_up) for the tiny gemma3 text model.</summary>
    public static string WriteGemma3Projector(string path, GgmlType weightType, Func<string, float[], float[]>? patch = null, int textWidth = MultimodalModelFiles.TextWidth)
    {
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("clip"));
        m.Add("general.type", GgufValue.String("mmproj"));
        m.Add("general.file_type", GgufValue.UInt32(1));
        m.Add("clip.has_vision_encoder", GgufValue.Bool(true));
        m.Add("clip.projector_type", GgufValue.String("gemma3"));
        m.Add("clip.use_gelu", GgufValue.Bool(true));
        m.Add("clip.vision.projection_dim", GgufValue.UInt32((uint)textWidth));
        m.Add("clip.vision.image_size", GgufValue.UInt32(32));
        m.Add("clip.vision.patch_size", GgufValue.UInt32(4));
        m.Add("clip.vision.embedding_length", GgufValue.UInt32(SiglipWidth));
        m.Add("clip.vision.feed_forward_length", GgufValue.UInt32(SiglipFfn));
        m.Add("clip.vision.block_count", GgufValue.UInt32(2));
        m.Add("clip.vision.attention.head_count", GgufValue.UInt32(4));
        m.Add("clip.vision.image_mean", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])));
        m.Add("clip.vision.image_std", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])));
        m.Add("clip.vision.attention.layer_norm_epsilon", GgufValue.Float32(1e-6f));
        m.Add("clip.vision.projector.scale_factor", GgufValue.UInt32(2));
        var w = SiglipWidth;
        var t = new List<(GgufTensorInfo Info, Kind Kind)>
        {
            (new("v.patch_embd.weight", [4, 4, 3, w], GgmlType.F32), Kind.Weight),
            (new("v.patch_embd.bias", [w], GgmlType.F32), Kind.Bias),
            (new("v.position_embd.weight", [w, 64], GgmlType.F32), Kind.Embedding),
        };
        for (var i = 0; i < 2; i++)
        {
            var b = $"v.blk.{i}.";
            foreach (var proj in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                t.Add((new(b + proj + ".weight", [w, w], weightType), Kind.Weight));
                t.Add((new(b + proj + ".bias", [w], GgmlType.F32), Kind.Bias));
            }
            t.Add((new(b + "ln1.weight", [w], GgmlType.F32), Kind.NormWeight));
            t.Add((new(b + "ln1.bias", [w], GgmlType.F32), Kind.Bias));
            t.Add((new(b + "ln2.weight", [w], GgmlType.F32), Kind.NormWeight));
            t.Add((new(b + "ln2.bias", [w], GgmlType.F32), Kind.Bias));
            t.Add((new(b + "ffn_up.weight", [w, SiglipFfn], weightType), Kind.Weight));
            t.Add((new(b + "ffn_up.bias", [SiglipFfn], GgmlType.F32), Kind.Bias));
            t.Add((new(b + "ffn_down.weight", [SiglipFfn, w], weightType), Kind.Weight));
            t.Add((new(b + "ffn_down.bias", [w], GgmlType.F32), Kind.Bias));
        }
        t.Add((new("v.post_ln.weight", [w], GgmlType.F32), Kind.NormWeight));
        t.Add((new("v.post_ln.bias", [w], GgmlType.F32), Kind.Bias));
        t.Add((new("mm.input_projection.weight", [textWidth, w], GgmlType.F16), Kind.ProjectionWeight));
        t.Add((new("mm.soft_emb_norm.weight", [w], GgmlType.F32), Kind.NormWeight));
        return Write(path, m, t, patch);
    }

    internal enum Kind
    {
        Weight,
        ProjectionWeight,
        Bias,
        NormWeight,
        Embedding,
    }

    static string Write(string path, GgufMetadata metadata, List<(GgufTensorInfo Info, Kind Kind)> tensors, Func<string, float[], float[]>? patch)
    {
        using var writer = GgufWriter.Create(path, metadata, [.. tensors.Select(t => t.Info)], new GgufWriterOptions { FlushToDisk = false });
        foreach (var (info, kind) in tensors)
        {
            // Values() has a standard deviation of 0.025.
            var values = MultimodalModelFiles.Values(info.Name, info.ElementCount);
            var fanIn = kind == Kind.ProjectionWeight ? info.Shape[1] : info.ElementCount / info.Shape[^1];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = kind switch
                {
                    Kind.Weight or Kind.ProjectionWeight => values[i] * 40f / MathF.Sqrt(fanIn),
                    Kind.Bias => values[i] * 4f,
                    Kind.NormWeight => 1f + (values[i] * 8f),
                    _ => values[i] * 20f,
                };
            }
            if (patch is not null)
            {
                values = patch(info.Name, values);
            }
            var bytes = new byte[info.ByteSize];
            BlockCodecs.Get(info.Type).Encode(values, (int)info.RowLength, [], bytes);
            writer.WriteTensorData(bytes);
        }
        writer.Commit();
        return path;
    }
}
