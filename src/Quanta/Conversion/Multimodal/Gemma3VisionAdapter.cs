using System.Text.RegularExpressions;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>Gemma3ForConditionalGeneration</c>'s SigLIP vision tower (<c>vision_tower.vision_model.*</c>) and its
/// projector (<c>multi_modal_projector.mm_input_projection_weight</c>, <c>mm_soft_emb_norm</c>). The projector
/// file follows llama.cpp's <c>Gemma3VisionModel</c> (2026 source): gguf-py's names (fc1 → <c>ffn_up</c>,
/// fc2 → <c>ffn_down</c>), <c>.embeddings.</c> tensors in F32 (the 4-D patch convolution included),
/// the input projection in F16, <c>soft_emb_norm</c> stored as w + 1. The single file follows Ollama's
/// <c>convert_gemma3.go</c>: its replacer's names (<c>v.patch_embedding</c>, <c>v.blk.N.layer_norm1</c>,
/// <c>mm.mm_input_projection.weight</c> ...), +1 on the projector's norm, image tensors in F16 (1-D in F32),
/// and the <c>gemma3.vision.*</c> keys.
/// </summary>
public sealed partial class Gemma3VisionAdapter : VisionAdapter
{
    // Ollama's gemma3 Replacements(), in its order (the text pairs matter for no image tensor but are kept so
    // the single pass behaves as Ollama's does).
    static readonly GoStringReplacer OllamaNames = new(
        ("lm_head", "output"),
        ("model.embed_tokens", "token_embd"),
        ("model.norm", "output_norm"),
        ("vision_tower.vision_model.embeddings", "v"),
        ("vision_tower.vision_model", "v"),
        ("vision_model.vision_model.embeddings", "v"),
        ("vision_model.vision_model", "v"),
        ("language_model.", ""),
        ("model.layers", "blk"),
        ("encoder.layers", "blk"),
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.q_norm", "attn_q_norm"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.k_norm", "attn_k_norm"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.out_proj", "attn_output"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.down_proj", "ffn_down"),
        ("mlp.up_proj", "ffn_up"),
        ("post_attention_layernorm", "post_attention_norm"),
        ("pre_feedforward_layernorm", "ffn_norm"),
        ("post_feedforward_layernorm", "post_ffw_norm"),
        ("input_projection_weight", "input_projection.weight"),
        ("multi_modal_projector", "mm"));

    // gguf-py's TensorNameMap entries for SigLIP and the Gemma 3 projector (MODEL_ARCH.MMPROJ).
    static readonly Dictionary<string, string> LayerNames = new(StringComparer.Ordinal)
    {
        ["self_attn.q_proj"] = "attn_q",
        ["self_attn.k_proj"] = "attn_k",
        ["self_attn.v_proj"] = "attn_v",
        ["self_attn.out_proj"] = "attn_out",
        ["layer_norm1"] = "ln1",
        ["layer_norm2"] = "ln2",
        ["mlp.fc1"] = "ffn_up",
        ["mlp.fc2"] = "ffn_down",
    };

    static readonly Dictionary<string, string> GlobalNames = new(StringComparer.Ordinal)
    {
        ["vision_tower.vision_model.embeddings.patch_embedding"] = "v.patch_embd",
        ["vision_tower.vision_model.embeddings.position_embedding"] = "v.position_embd",
        ["vision_tower.vision_model.post_layernorm"] = "v.post_ln",
        ["multi_modal_projector.mm_input_projection"] = "mm.input_projection",
        ["multi_modal_projector.mm_soft_emb_norm"] = "mm.soft_emb_norm",
    };

    /// <summary>
    /// The vision tower's and projector's tensor names in llama.cpp's projector file paired with their names in
    /// Ollama's single file, for <paramref name="blockCount"/> encoder blocks: both sides derived from the tables
    /// above (each checkpoint name mapped both ways), so <c>merge</c> and <c>convert</c> cannot disagree.
    /// <paramref name="legacyFfnNames"/> gives the names of llama.cpp's older
    /// <c>gemma3_convert_encoder_to_gguf.py</c> (Google's QAT <c>mmproj-model-f16</c> files), which call
    /// fc1 <c>ffn_down</c> and fc2 <c>ffn_up</c>; otherwise gguf-py's (fc1 <c>ffn_up</c>).
    /// </summary>
    public static IReadOnlyList<(string Projector, string SingleFile)> ProjectorToSingleFileNames(int blockCount, bool legacyFfnNames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockCount);
        string[] suffixes = ["weight", "bias"];
        var pairs = new List<(string, string)>();
        foreach (var (checkpoint, projector) in GlobalNames)
        {
            foreach (var suffix in suffixes)
            {
                pairs.Add(($"{projector}.{suffix}", OllamaNames.Replace($"{checkpoint}.{suffix}")));
            }
        }
        for (var block = 0; block < blockCount; block++)
        {
            foreach (var (checkpoint, projector) in LayerNames)
            {
                var name = !legacyFfnNames ? projector : projector switch { "ffn_up" => "ffn_down", "ffn_down" => "ffn_up", _ => projector };
                foreach (var suffix in suffixes)
                {
                    pairs.Add(($"v.blk.{block}.{name}.{suffix}", OllamaNames.Replace($"vision_tower.vision_model.encoder.layers.{block}.{checkpoint}.{suffix}")));
                }
            }
        }
        return pairs;
    }

    [GeneratedRegex(@"^vision_tower\.vision_model\.encoder\.layers\.(0|[1-9][0-9]{0,5})\.(.+)\.(weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex EncoderLayer();

    public override string? ImageTensorName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.StartsWith("model.vision_tower.", StringComparison.Ordinal) || name.StartsWith("model.multi_modal_projector.", StringComparison.Ordinal))
        {
            name = name["model.".Length..];
        }
        return name.StartsWith("vision_tower.", StringComparison.Ordinal) || name.StartsWith("multi_modal_projector.", StringComparison.Ordinal)
            || name.StartsWith("multimodal_projector.", StringComparison.Ordinal) || name.StartsWith("vision_model.", StringComparison.Ordinal)
            ? name
            : null;
    }

    public override TensorMapping? MapProjector(ConversionContext context, string name)
    {
        if (ImageTensorName(name) is not { } image || image.Contains("vision_model.head.", StringComparison.Ordinal))
        {
            // Text tensors belong to the text file; SigLIP's pooling head is not used by Gemma 3.
            return null;
        }
        image = image.Replace("_weight", ".weight", StringComparison.Ordinal);
        var mapping = new TensorMapping(ProjectorName(image));
        if (image.Contains("input_projection", StringComparison.Ordinal))
        {
            mapping = mapping with { ForcedType = GgmlType.F16 };
        }
        else if (image.Contains(".embeddings.", StringComparison.Ordinal))
        {
            mapping = mapping with { ForcedType = GgmlType.F32 };
        }
        // Only the projector's RMS norm follows Gemma's w + 1 convention; SigLIP's layer norms are plain.
        return image.Contains("soft_emb_norm.weight", StringComparison.Ordinal) ? mapping with { AddOne = true } : mapping;
    }

    static string ProjectorName(string name)
    {
        var suffix = name.EndsWith(".weight", StringComparison.Ordinal) ? "weight" : name.EndsWith(".bias", StringComparison.Ordinal) ? "bias" : null;
        if (suffix is not null && GlobalNames.TryGetValue(name[..^(suffix.Length + 1)], out var global))
        {
            return $"{global}.{suffix}";
        }
        var match = EncoderLayer().Match(name);
        if (match.Success && LayerNames.TryGetValue(match.Groups[2].Value, out var layer))
        {
            return $"v.blk.{match.Groups[1].Value}.{layer}.{match.Groups[3].Value}";
        }
        throw new ConversionException($"cannot map tensor '{name}' to a GGUF name for the Gemma 3 projector (clip)");
    }

    public override TensorMapping? MapSingleFile(ConversionContext context, string name)
    {
        if (ImageTensorName(name) is not { } image)
        {
            return null;
        }
        var ggufName = OllamaNames.Replace(image);
        if (!ggufName.StartsWith("v.", StringComparison.Ordinal) && !ggufName.StartsWith("mm.", StringComparison.Ordinal))
        {
            throw new ConversionException($"cannot map tensor '{name}' to a GGUF name for gemma3's vision tower");
        }
        // Ollama writes every tensor of more than one dimension in F16 (biases and 1-D in F32) and adds 1 to
        // the norms outside the vision tower, which here is the projector's soft embedding norm.
        return new TensorMapping(ggufName, AddOne: !ggufName.StartsWith("v.", StringComparison.Ordinal) && ggufName.EndsWith("_norm.weight", StringComparison.Ordinal),
            ForcedType: GgmlType.F16, ForcedUnlessF32: true);
    }

    public override void WriteProjectorParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var vision = VisionConfig(context);
        var processor = ProcessorConfig(context)
            ?? throw new ConversionException($"{context.Directory}: preprocessor_config.json not found; the projector file needs its image_mean and image_std");
        // MmprojModel.set_gguf_parameters, then Gemma3VisionModel's additions.
        Set(metadata, GgufKeys.FileType, GgufValue.UInt32(fileType));
        Set(metadata, "clip.has_vision_encoder", GgufValue.Bool(true));
        Set(metadata, "clip.vision.projection_dim", UInt32Value(context.Config, context.Config.RequireInteger("hidden_size", "n_embd"), "hidden_size"));
        Set(metadata, "clip.vision.image_size", UInt32(vision, "image_size"));
        Set(metadata, "clip.vision.patch_size", UInt32(vision, "patch_size"));
        Set(metadata, "clip.vision.embedding_length", UInt32Value(vision, vision.RequireInteger("hidden_size", "width"), "hidden_size"));
        Set(metadata, "clip.vision.feed_forward_length", UInt32(vision, "intermediate_size"));
        Set(metadata, "clip.vision.block_count", UInt32Value(vision, vision.RequireInteger("n_layers", "num_hidden_layers", "n_layer", "num_layers", "depth", "layers"), "num_hidden_layers"));
        Set(metadata, "clip.vision.attention.head_count", UInt32Value(vision, vision.RequireInteger("num_attention_heads", "num_heads", "heads"), "num_attention_heads"));
        Set(metadata, "clip.vision.image_mean", Floats(processor.Numbers("image_mean") ?? throw new ConversionException($"{processor.Path}: 'image_mean' is not set")));
        Set(metadata, "clip.vision.image_std", Floats(processor.Numbers("image_std") ?? throw new ConversionException($"{processor.Path}: 'image_std' is not set")));
        Set(metadata, "clip.projector_type", GgufValue.String("gemma3"));
        Set(metadata, "clip.vision.attention.layer_norm_epsilon", GgufValue.Float32((float)(vision.Number("layer_norm_eps") ?? 1e-6)));
        Set(metadata, "clip.use_gelu", GgufValue.Bool(true));
        // The projector pools the patch grid down to image_seq_length tokens; 4 (896 / 14 = 64 per side, 16 per
        // side after pooling) is clip.cpp's default and is written only when it differs (test models).
        var perSide = (long)Math.Sqrt(processor.Integer("image_seq_length") ?? 256);
        var scale = perSide == 0 ? 0 : vision.RequireInteger("image_size") / vision.RequireInteger("patch_size") / perSide;
        if (scale > 0 && scale != 4)
        {
            Set(metadata, "clip.vision.projector.scale_factor", UInt32Value(vision, scale, "image_size"));
        }
    }

    public override void WriteSingleFileParameters(ConversionContext context, ArchitectureKeys keys)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(keys);
        var vision = VisionConfig(context);
        // Ollama's gemma3Model.KV for Gemma3ForConditionalGeneration (Go zero values and cmp.Or defaults).
        keys.UInt32("vision.block_count", vision.Integer("num_hidden_layers") ?? 0);
        keys.UInt32("vision.embedding_length", vision.Integer("hidden_size") ?? 0);
        keys.UInt32("vision.feed_forward_length", vision.Integer("intermediate_size") ?? 0);
        keys.UInt32("vision.image_size", vision.Integer("image_size") ?? 0);
        keys.UInt32("vision.patch_size", vision.Integer("patch_size") ?? 0);
        keys.UInt32("vision.num_channels", vision.Integer("num_channels") is { } channels and > 0 ? channels : 3);
        keys.UInt32("vision.attention.head_count", vision.Integer("num_attention_heads") ?? 0);
        keys.Float32("vision.attention.layer_norm_epsilon", vision.Number("layer_norm_eps") is { } eps and not 0 ? eps : 1e-6);
        if (context.Config.Integer("mm_tokens_per_image") is { } tokens and > 0)
        {
            keys.UInt32("mm.tokens_per_image", tokens);
        }
    }
}
