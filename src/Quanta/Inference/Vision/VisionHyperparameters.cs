using System.Globalization;
using Quanta.Formats.Gguf;

namespace Quanta.Inference.Vision;

/// <summary>Which projector turns the tower's patches into the language model's embeddings.</summary>
public enum VisionProjectorType
{
    /// <summary>LLaVA's two-layer MLP (<c>mm.0</c>, GELU, <c>mm.2</c>), after dropping the class token.</summary>
    LlavaMlp,

    /// <summary>Gemma 3: average pooling of the patch grid, <c>mm.soft_emb_norm</c> (RMS), <c>mm.input_projection</c>.</summary>
    Gemma3,
}

/// <summary>Where the tower's tensors and keys come from.</summary>
public enum VisionLayout
{
    /// <summary>llama.cpp's projector file (<c>mmproj-*.gguf</c>, architecture <c>clip</c>, <c>clip.*</c> keys).</summary>
    ClipProjector,

    /// <summary>Ollama's single gemma3 file (<c>v.*</c>/<c>mm.*</c> tensors, <c>gemma3.vision.*</c> keys).</summary>
    OllamaGemma3,
}

/// <summary>A vision tower's shape and its image preprocessing, read from the GGUF keys of either layout.</summary>
public sealed record VisionHyperparameters
{
    public required VisionLayout Layout { get; init; }

    public required VisionProjectorType Projector { get; init; }

    /// <summary>The square side the tower takes (<c>clip.vision.image_size</c>).</summary>
    public required int ImageSize { get; init; }

    public required int PatchSize { get; init; }

    /// <summary>The tower's hidden size.</summary>
    public required int Width { get; init; }

    public required int FeedForward { get; init; }

    public required int Heads { get; init; }

    /// <summary>Blocks in the file.</summary>
    public required int Blocks { get; init; }

    /// <summary>
    /// Blocks run: LLaVA's <c>clip.vision.feature_layer</c> (the hidden state after that many blocks) or, without
    /// the key, llama.cpp's February 2025 rule (all but the last, the HF <c>vision_feature_layer = -2</c>); all for SigLIP.
    /// </summary>
    public required int BlocksRun { get; init; }

    public required float Epsilon { get; init; }

    public required float[] ImageMean { get; init; }

    public required float[] ImageStd { get; init; }

    /// <summary>GELU (tanh) in the blocks when true, CLIP's quick GELU otherwise (<c>clip.use_gelu</c>).</summary>
    public required bool UseGelu { get; init; }

    /// <summary>LLaVA 1.6's candidate resolutions, width then height (<c>clip.vision.image_grid_pinpoints</c>); empty for 1.5.</summary>
    public int[] GridPinpoints { get; init; } = [];

    /// <summary><c>flat</c> (LLaVA 1.5) or <c>spatial_unpad</c> (1.6 any-resolution tiling).</summary>
    public string PatchMergeType { get; init; } = "flat";

    /// <summary>Gemma 3's pooling kernel side (patches per side / tokens per side).</summary>
    public int PoolKernel { get; init; }

    public int PatchesPerSide => ImageSize / PatchSize;

    public int Patches => PatchesPerSide * PatchesPerSide;

    /// <summary>Image tokens one tile gives the language model.</summary>
    public int TokensPerTile => Projector == VisionProjectorType.Gemma3 ? Patches / (PoolKernel * PoolKernel) : Patches;

    /// <summary>Whether the file holds a vision tower in a layout Quanta runs.</summary>
    public static bool IsVisionFile(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Metadata.LenientString("general.architecture") == "clip"
            || file.FindTensor("v.patch_embedding.weight") is not null;
    }

    /// <summary>Reads the keys of <paramref name="file"/>.</summary>
    /// <exception cref="GgufFormatException">No vision tower, or a key missing or out of range.</exception>
    public static VisionHyperparameters Read(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var m = file.Metadata;
        var architecture = m.LenientString("general.architecture");
        if (architecture == "clip")
        {
            var projectorName = m.LenientString("clip.projector_type") ?? "mlp";
            var projector = projectorName switch
            {
                "mlp" => VisionProjectorType.LlavaMlp,
                "gemma3" => VisionProjectorType.Gemma3,
                _ => throw new GgufFormatException($"{file.Path}: clip.projector_type '{projectorName}' is not one Quanta runs (mlp for LLaVA, gemma3)"),
            };
            if (projector == VisionProjectorType.LlavaMlp && file.FindTensor("mm.3.weight") is not null)
            {
                throw new GgufFormatException($"{file.Path}: an MLP projector with layer norms (mm.3, mm.4: mlp_norm) is not one Quanta runs");
            }
            var blocks = Positive(file, "clip.vision.block_count");
            var imageSize = Positive(file, "clip.vision.image_size");
            var patchSize = Positive(file, "clip.vision.patch_size");
            var blocksRun = projector == VisionProjectorType.Gemma3 ? blocks : LlavaBlocksRun(file, blocks);
            var pinpoints = m.TryGetValue("clip.vision.image_grid_pinpoints", out var grid) ? Integers(grid.AsArray()) : [];
            var scale = projector == VisionProjectorType.Gemma3 ? (int)(m.LenientInteger("clip.vision.projector.scale_factor") ?? 4) : 0;
            return Check(file, new VisionHyperparameters
            {
                Layout = VisionLayout.ClipProjector,
                Projector = projector,
                ImageSize = imageSize,
                PatchSize = patchSize,
                Width = Positive(file, "clip.vision.embedding_length"),
                FeedForward = Positive(file, "clip.vision.feed_forward_length"),
                Heads = Positive(file, "clip.vision.attention.head_count"),
                Blocks = blocks,
                BlocksRun = blocksRun,
                Epsilon = (float)(m.LenientFloat("clip.vision.attention.layer_norm_epsilon") ?? throw Missing(file, "clip.vision.attention.layer_norm_epsilon")),
                ImageMean = Floats(file, "clip.vision.image_mean"),
                ImageStd = Floats(file, "clip.vision.image_std"),
                UseGelu = m.TryGetValue("clip.use_gelu", out var gelu) && gelu.AsBool(),
                GridPinpoints = pinpoints,
                PatchMergeType = m.LenientString("clip.vision.mm_patch_merge_type") ?? "flat",
                PoolKernel = scale,
            });
        }
        if (architecture == "gemma3" && file.FindTensor("v.patch_embedding.weight") is not null)
        {
            var imageSize = Positive(file, "gemma3.vision.image_size");
            var patchSize = Positive(file, "gemma3.vision.patch_size");
            var tokens = (int)(m.LenientInteger("gemma3.mm.tokens_per_image") ?? 256);
            var perSide = (int)Math.Round(Math.Sqrt(tokens));
            var blocks = Positive(file, "gemma3.vision.block_count");
            return Check(file, new VisionHyperparameters
            {
                Layout = VisionLayout.OllamaGemma3,
                Projector = VisionProjectorType.Gemma3,
                ImageSize = imageSize,
                PatchSize = patchSize,
                Width = Positive(file, "gemma3.vision.embedding_length"),
                FeedForward = Positive(file, "gemma3.vision.feed_forward_length"),
                Heads = Positive(file, "gemma3.vision.attention.head_count"),
                Blocks = blocks,
                BlocksRun = blocks,
                Epsilon = (float)(m.LenientFloat("gemma3.vision.attention.layer_norm_epsilon") ?? 1e-6),
                // Ollama's gemma3 image processor normalises with 0.5 / 0.5 (imageproc.ImageNetStandard*).
                ImageMean = [0.5f, 0.5f, 0.5f],
                ImageStd = [0.5f, 0.5f, 0.5f],
                UseGelu = true,
                PoolKernel = perSide > 0 ? imageSize / patchSize / perSide : 0,
            });
        }
        throw new GgufFormatException($"{file.Path}: no vision tower (neither a clip projector file nor a gemma3 file with v.* tensors)");
    }

    static int LlavaBlocksRun(GgufFile file, int blocks)
    {
        if (file.Metadata.TryGetValue("clip.vision.feature_layer", out var value))
        {
            var layers = Integers(value.AsArray());
            if (layers.Length != 1)
            {
                throw new GgufFormatException($"{file.Path}: clip.vision.feature_layer lists {layers.Length} layers; Quanta runs towers that take one");
            }
            return layers[0];
        }
        return blocks - 1;
    }

    static VisionHyperparameters Check(GgufFile file, VisionHyperparameters p)
    {
        if (p.ImageSize % p.PatchSize != 0 || p.Width % p.Heads != 0 || p.BlocksRun < 0 || p.BlocksRun > p.Blocks
            || p.ImageMean.Length < 3 || p.ImageStd.Length < 3 || p.ImageSize > 4096)
        {
            throw new GgufFormatException($"{file.Path}: inconsistent vision keys (image {p.ImageSize}, patch {p.PatchSize}, width {p.Width}, heads {p.Heads}, blocks {p.BlocksRun} of {p.Blocks})");
        }
        if (p.Projector == VisionProjectorType.Gemma3 && (p.PoolKernel < 1 || p.PatchesPerSide % p.PoolKernel != 0))
        {
            throw new GgufFormatException($"{file.Path}: gemma3 pooling of {p.PatchesPerSide} patches per side by {p.PoolKernel} does not divide");
        }
        if (p.GridPinpoints.Length % 2 != 0 || p.GridPinpoints.Any(v => v <= 0 || v > 4096))
        {
            throw new GgufFormatException($"{file.Path}: clip.vision.image_grid_pinpoints should be width, height pairs");
        }
        return p;
    }

    static int Positive(GgufFile file, string key)
    {
        var value = file.Metadata.LenientInteger(key) ?? throw Missing(file, key);
        return value is > 0 and <= 1 << 20 ? (int)value : throw new GgufFormatException($"{file.Path}: {key} is {value}");
    }

    static GgufFormatException Missing(GgufFile file, string key) => new($"{file.Path}: {key} is not set");

    static float[] Floats(GgufFile file, string key)
    {
        if (!file.Metadata.TryGetValue(key, out var value))
        {
            throw Missing(file, key);
        }
        var array = value.AsArray();
        return array.ElementType is GgufValueType.Float32 or GgufValueType.Float64 or GgufValueType.Int32 or GgufValueType.UInt32
            ? [.. array.Items.Cast<object>().Select(o => Convert.ToSingle(o, CultureInfo.InvariantCulture))]
            : throw new GgufFormatException($"{file.Path}: {key} should be an array of numbers");
    }

    static int[] Integers(GgufArray array) =>
        array.ElementType is GgufValueType.Int32 or GgufValueType.UInt32 or GgufValueType.Int64 or GgufValueType.UInt64 or GgufValueType.Int16 or GgufValueType.UInt16
            ? [.. array.Items.Cast<object>().Select(o => Convert.ToInt32(o, CultureInfo.InvariantCulture))]
            : [];
}
