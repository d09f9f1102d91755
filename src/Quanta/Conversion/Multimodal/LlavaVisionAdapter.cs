using System.Text.RegularExpressions;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>LlavaForConditionalGeneration</c> with a CLIP vision tower (llava-hf's LLaVA 1.5 / 1.6 checkpoints) and
/// the two-layer MLP projector (<c>multi_modal_projector.linear_1</c>, GELU, <c>linear_2</c>). llama.cpp's
/// <c>convert_hf_to_gguf.py --mmproj</c> only takes the pixtral variant, so the projector file follows the
/// converter llama.cpp keeps for these models, <c>convert_image_encoder_to_gguf.py</c> (projector type
/// <c>mlp</c>): its name rewrites (<c>v.blk.N.ffn_down</c> = fc1, the legacy naming clip.cpp still reads),
/// <c>mm.0</c> / <c>mm.2</c>, the layers after the feature layer and the post norm left out, 2-D weights in
/// F16 (F32 for f32), the 4-D patch convolution and the projector's matrices always F16. The single file
/// carries the same image tensors next to the text model, in F16 as Ollama writes image tensors, with
/// <c>llama.vision.*</c> keys.
/// </summary>
public sealed partial class LlavaVisionAdapter : VisionAdapter
{
    /// <summary>The CLIP normalisation the converter falls back to without a processor config.</summary>
    static readonly double[] ClipImageMean = [0.48145466, 0.4578275, 0.40821073];
    static readonly double[] ClipImageStd = [0.26862954, 0.26130258, 0.27577711];

    [GeneratedRegex(@"\.layers\.(0|[1-9][0-9]{0,5})\.", RegexOptions.CultureInvariant)]
    private static partial Regex LayerIndex();

    public override string? ImageTensorName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.StartsWith("model.vision_tower.", StringComparison.Ordinal) || name.StartsWith("model.multi_modal_projector.", StringComparison.Ordinal))
        {
            name = name["model.".Length..];
        }
        return name.StartsWith("vision_tower.", StringComparison.Ordinal) || name.StartsWith("multi_modal_projector.", StringComparison.Ordinal) ? name : null;
    }

    /// <summary>Refuses the vision towers this adapter does not know (pixtral, SigLIP ...).</summary>
    public override void Validate(HfConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var vision = config.Object("vision_config");
        var type = vision?.String("model_type");
        if (type is not null and not "clip_vision_model")
        {
            throw new ConversionException($"{config.Path}: LlavaForConditionalGeneration with a '{type}' vision tower is not supported; Quanta converts LLaVA with a CLIP vision tower (clip_vision_model)");
        }
    }

    /// <summary>
    /// How many encoder blocks the projector reads from: the deepest <c>vision_feature_layer</c> (negative
    /// values count from the end, the embeddings being layer 0), else all but the last.
    /// </summary>
    static long BlockCount(ConversionContext context, HfConfig vision) =>
        FeatureLayers(context, vision) is { Length: > 0 } layers ? layers.Max() : vision.RequireInteger("num_hidden_layers") - 1;

    static long[]? FeatureLayers(ConversionContext context, HfConfig vision)
    {
        var c = context.Config;
        var key = c.Find("vision_feature_layer", "mm_vision_select_layer");
        if (key is null)
        {
            return null;
        }
        var layers = c.Get(key)!.Value.ValueKind == System.Text.Json.JsonValueKind.Array
            ? [.. c.Numbers(key)!.Select(v => (long)v)]
            : new[] { c.RequireInteger(key) };
        var count = vision.RequireInteger("num_hidden_layers");
        return [.. layers.Select(l => l >= 0 ? l : count + l + 1)];
    }

    public override TensorMapping? MapProjector(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ImageTensorName(name) is not { } image)
        {
            return null;
        }
        if (image.StartsWith("multi_modal_projector.", StringComparison.Ordinal))
        {
            var ggufName = "mm." + image["multi_modal_projector.".Length..].Replace("linear_1", "0", StringComparison.Ordinal).Replace("linear_2", "2", StringComparison.Ordinal);
            if (!Regex.IsMatch(ggufName, @"^mm\.[02]\.(weight|bias)$", RegexOptions.CultureInvariant))
            {
                throw new ConversionException($"cannot map tensor '{name}': LLaVA's projector has linear_1 and linear_2");
            }
            // The projector's matrices are stored in F16 whatever the output type (llava_surgery's projector file).
            return new TensorMapping(ggufName, ForcedType: GgmlType.F16);
        }
        var clipName = image["vision_tower.".Length..];
        if (clipName is "vision_model.embeddings.position_ids" || clipName.StartsWith("vision_model.post_layernorm.", StringComparison.Ordinal)
            || clipName.StartsWith("visual_projection.", StringComparison.Ordinal))
        {
            // LLaVA takes the features before the post norm; CLIP's own projection is not part of it.
            return null;
        }
        var layer = LayerIndex().Match(clipName);
        if (layer.Success && long.Parse(layer.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= BlockCount(context, VisionConfig(context)))
        {
            return null;
        }
        var gguf = LegacyClipName(clipName);
        if (!gguf.StartsWith("v.", StringComparison.Ordinal))
        {
            throw new ConversionException($"cannot map tensor '{name}' to a GGUF name for the LLaVA projector (clip)");
        }
        // The 4-D patch convolution is F16 even in an f32 file (ggml's conv had no f32 kernels).
        return gguf == "v.patch_embd.weight"
            ? new TensorMapping(gguf, ForcedType: GgmlType.F16)
            : new TensorMapping(gguf, ForcedType: GgmlType.F16, ForcedUnlessF32: true);
    }

    /// <summary><c>get_tensor_name</c>'s chain of string replacements, in its order.</summary>
    static string LegacyClipName(string name) => name
        .Replace("text_model", "t", StringComparison.Ordinal)
        .Replace("vision_model", "v", StringComparison.Ordinal)
        .Replace("encoder.layers", "blk", StringComparison.Ordinal)
        .Replace("embeddings.", "", StringComparison.Ordinal)
        .Replace("_proj", "", StringComparison.Ordinal)
        .Replace("self_attn.", "attn_", StringComparison.Ordinal)
        .Replace("layer_norm", "ln", StringComparison.Ordinal)
        .Replace("layernorm", "ln", StringComparison.Ordinal)
        .Replace("mlp.fc1", "ffn_down", StringComparison.Ordinal)
        .Replace("mlp.fc2", "ffn_up", StringComparison.Ordinal)
        .Replace("embedding", "embd", StringComparison.Ordinal)
        .Replace("final", "post", StringComparison.Ordinal)
        .Replace("layrnorm", "ln", StringComparison.Ordinal);

    public override TensorMapping? MapSingleFile(ConversionContext context, string name) =>
        MapProjector(context, name) is { } mapping ? mapping with { ForcedType = GgmlType.F16, ForcedUnlessF32 = true } : null;

    public override void WriteProjectorParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        var vision = VisionConfig(context);
        Set(metadata, "clip.has_text_encoder", GgufValue.Bool(false));
        Set(metadata, "clip.has_vision_encoder", GgufValue.Bool(true));
        Set(metadata, "clip.has_llava_projector", GgufValue.Bool(true));
        // The script knows two file types: 0 (--use-f32) and 1.
        Set(metadata, GgufKeys.FileType, GgufValue.UInt32(fileType == 0 ? 0u : 1u));
        Set(metadata, "general.description", GgufValue.String("image encoder for LLaVA"));
        Set(metadata, "clip.projector_type", GgufValue.String("mlp"));
        Set(metadata, "clip.vision.image_size", UInt32(vision, "image_size"));
        Set(metadata, "clip.vision.patch_size", UInt32(vision, "patch_size"));
        Set(metadata, "clip.vision.embedding_length", UInt32(vision, "hidden_size"));
        Set(metadata, "clip.vision.feed_forward_length", UInt32(vision, "intermediate_size"));
        Set(metadata, "clip.vision.projection_dim", UInt32Value(vision, vision.Integer("projection_dim") ?? c.RequireInteger("projection_dim"), "projection_dim"));
        Set(metadata, "clip.vision.attention.head_count", UInt32(vision, "num_attention_heads"));
        Set(metadata, "clip.vision.attention.layer_norm_epsilon", GgufValue.Float32((float)vision.RequireNumber("layer_norm_eps")));
        Set(metadata, "clip.vision.block_count", UInt32Value(vision, BlockCount(context, vision), "num_hidden_layers"));
        if (FeatureLayers(context, vision) is { Length: > 0 } layers)
        {
            Set(metadata, "clip.vision.feature_layer", GgufValue.Array(GgufArray.Of([.. layers.Select(l => (int)l)])));
        }
        var processor = ProcessorConfig(context);
        Set(metadata, "clip.vision.image_mean", Floats(processor?.Numbers("image_mean") ?? ClipImageMean));
        Set(metadata, "clip.vision.image_std", Floats(processor?.Numbers("image_std") ?? ClipImageStd));
        Set(metadata, "clip.use_gelu", GgufValue.Bool(vision.String("hidden_act") == "gelu"));
    }

    public override void WriteSingleFileParameters(ConversionContext context, ArchitectureKeys keys)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(keys);
        var vision = VisionConfig(context);
        // The gemma3.vision.* set Ollama writes, for the blocks the file holds.
        keys.UInt32("vision.block_count", BlockCount(context, vision));
        keys.UInt32("vision.embedding_length", vision.RequireInteger("hidden_size"));
        keys.UInt32("vision.feed_forward_length", vision.RequireInteger("intermediate_size"));
        keys.UInt32("vision.image_size", vision.RequireInteger("image_size"));
        keys.UInt32("vision.patch_size", vision.RequireInteger("patch_size"));
        keys.UInt32("vision.num_channels", vision.Integer("num_channels") ?? 3);
        keys.UInt32("vision.attention.head_count", vision.RequireInteger("num_attention_heads"));
        keys.Float32("vision.attention.layer_norm_epsilon", vision.RequireNumber("layer_norm_eps"));
        keys.String("vision.projector_type", "mlp");
    }
}
