using System.Text.RegularExpressions;
using Quanta.Codecs;
using Quanta.Conversion.Architectures;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>Options of <see cref="Gemma3VisionPackaging"/>'s merge and split.</summary>
public sealed record Gemma3VisionPackagingOptions
{
    /// <summary>Requantize <c>token_embd.weight</c> to this type (decoded to f32, encoded as llama-quantize does); null copies it.</summary>
    public GgmlType? TokenEmbeddingType { get; init; }

    /// <summary>
    /// Split only, for a single file Quanta did not merge (one that does not say which names its projector had):
    /// true writes the FFN names of Google's QAT mmproj files (fc1 = <c>ffn_down</c>), false gguf-py's (fc1 = <c>ffn_up</c>).
    /// </summary>
    public bool LegacyFfnNames { get; init; } = true;

    public CancellationToken CancellationToken { get; init; }
}

/// <summary>
/// Repackages gemma3 between llama.cpp's two files (a text GGUF and an <c>mmproj</c> of architecture <c>clip</c>)
/// and Ollama's single file (text, <c>v.*</c> and <c>mm.*</c> tensors, <c>gemma3.vision.*</c> keys), per
/// checkpoint-formats.md §2.3. Tensor bytes are copied as they are (only <c>token_embd.weight</c> may be
/// requantized); text keys and tensors are unchanged. Outputs are written atomically.
/// </summary>
/// <remarks>
/// So that <c>split-vision</c> gives back exactly the two files <c>merge</c> was given, the merged file also
/// carries, under <c>quanta.merge.*</c>, the projector's keys (<c>quanta.merge.mmproj.KEY</c>, in order), any
/// text key the vision keys replaced (<c>quanta.merge.text.KEY</c>) and the projector's FFN naming
/// (<c>quanta.merge.ffn_names</c>). Ollama and llama.cpp ignore keys they do not read. A single file without them
/// (one from Ollama) is split with projector keys rebuilt from the <c>gemma3.vision.*</c> keys as llama.cpp writes them.
/// </remarks>
public static partial class Gemma3VisionPackaging
{
    public const string Architecture = "gemma3";
    public const string TokenEmbedding = "token_embd.weight";
    const string MmprojPrefix = "quanta.merge.mmproj.";
    const string TextPrefix = "quanta.merge.text.";
    const string FfnNamesKey = "quanta.merge.ffn_names";
    const string LegacyFfn = "fc1=ffn_down";
    const string GgufPyFfn = "fc1=ffn_up";

    // gemma3.X ← clip.X, in Ollama's order (convert_gemma3.go KV); null: no clip key (num_channels is 3).
    static readonly (string Key, string? Clip)[] VisionKeys =
    [
        ("vision.block_count", "clip.vision.block_count"),
        ("vision.embedding_length", "clip.vision.embedding_length"),
        ("vision.feed_forward_length", "clip.vision.feed_forward_length"),
        ("vision.image_size", "clip.vision.image_size"),
        ("vision.patch_size", "clip.vision.patch_size"),
        ("vision.num_channels", null),
        ("vision.attention.head_count", "clip.vision.attention.head_count"),
    ];

    [GeneratedRegex(@"^v\.blk\.(0|[1-9][0-9]{0,5})\.", RegexOptions.CultureInvariant)]
    private static partial Regex BlockName();

    static bool IsVisionTensor(string name) => name.StartsWith("v.", StringComparison.Ordinal) || name.StartsWith("mm.", StringComparison.Ordinal);

    /// <summary>llama.cpp's text GGUF + mmproj → Ollama's single gemma3 file at <paramref name="outputPath"/>.</summary>
    /// <exception cref="ConversionException">The inputs are not a gemma3 text file and a gemma3 clip projector.</exception>
    public static void Merge(GgufFile text, GgufFile mmproj, string outputPath, Gemma3VisionPackagingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(mmproj);
        options ??= new();
        RequireArchitecture(text, Architecture, "a gemma3 text model");
        if (text.Tensors.FirstOrDefault(t => IsVisionTensor(t.Name)) is { } vision)
        {
            throw new ConversionException($"{text.Path}: already has vision tensors ({vision.Name}); it is a single file already (split it with split-vision)");
        }
        RequireArchitecture(mmproj, MultimodalTensors.ClipArchitecture, "a clip projector (mmproj)");
        var projectorType = mmproj.Metadata.LenientString("clip.projector_type");
        if (projectorType != Architecture)
        {
            throw new ConversionException($"{mmproj.Path}: clip.projector_type is {(projectorType is null ? "not set" : $"'{projectorType}'")}; merge handles gemma3 projectors only");
        }

        // Which FFN names this projector uses: fc1 (embedding → feed-forward) has ne0 < ne1.
        var legacy = mmproj.FindTensor("v.blk.0.ffn_up.weight") is { } up && up.Shape.Count == 2 && up.Shape[0] > up.Shape[1];
        var renames = Gemma3VisionAdapter.ProjectorToSingleFileNames(BlockCount(mmproj.Tensors.Select(t => t.Name)), legacy)
            .ToDictionary(p => p.Projector, p => p.SingleFile, StringComparer.Ordinal);

        var metadata = new GgufMetadata(text.Metadata);
        GgufSplit.RemoveSplitKeys(metadata);
        var clip = mmproj.Metadata;
        var added = new List<(string Key, GgufValue Value)>();
        foreach (var (key, clipKey) in VisionKeys)
        {
            added.Add(($"{Architecture}.{key}", clipKey is null ? GgufValue.UInt32(3) : GgufValue.UInt32(RequireUInt32(mmproj, clipKey))));
        }
        added.Add(($"{Architecture}.vision.attention.layer_norm_epsilon", GgufValue.Float32((float?)clip.LenientFloat("clip.vision.attention.layer_norm_epsilon") ?? 1e-6f)));
        added.Add(($"{Architecture}.mm.tokens_per_image", GgufValue.UInt32(TokensPerImage(mmproj))));
        var saved = new List<(string, GgufValue)>();
        foreach (var (key, value) in added)
        {
            if (metadata.TryGetValue(key, out var old))
            {
                saved.Add((TextPrefix + key, old));
            }
            metadata.Replace(key, value);
        }
        foreach (var (key, value) in saved)
        {
            metadata.Replace(key, value);
        }
        var clipMetadata = new GgufMetadata(clip);
        GgufSplit.RemoveSplitKeys(clipMetadata);
        foreach (var (key, value) in clipMetadata)
        {
            metadata.Replace(MmprojPrefix + key, value);
        }
        metadata.Replace(FfnNamesKey, GgufValue.String(legacy ? LegacyFfn : GgufPyFfn));

        var parts = new List<(GgufTensor Source, string Name)>();
        parts.AddRange(text.Tensors.Select(t => (t, t.Name)));
        foreach (var tensor in mmproj.Tensors)
        {
            if (!renames.TryGetValue(tensor.Name, out var name))
            {
                throw new ConversionException($"{mmproj.Path}: unexpected tensor '{tensor.Name}' for a gemma3 projector; merge knows the names of llama.cpp's gemma3 mmproj files");
            }
            parts.Add((tensor, name));
        }
        var tokenType = CheckTokenEmbedding(text, options.TokenEmbeddingType);
        Write([(outputPath, metadata, parts)], tokenType, [.. text.FilePaths, .. mmproj.FilePaths], options.CancellationToken);
    }

    /// <summary>Ollama's single gemma3 file → llama.cpp's text GGUF and mmproj.</summary>
    /// <exception cref="ConversionException">Not a gemma3 file, or one without vision tensors.</exception>
    public static void Split(GgufFile single, string textPath, string mmprojPath, Gemma3VisionPackagingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(single);
        options ??= new();
        RequireArchitecture(single, Architecture, "a gemma3 model");
        if (!single.Tensors.Any(t => IsVisionTensor(t.Name)))
        {
            throw new ConversionException($"{single.Path}: has no vision tensors (v.*, mm.*); it is a text model already");
        }
        var source = new GgufMetadata(single.Metadata);
        GgufSplit.RemoveSplitKeys(source);
        var legacy = source.LenientString(FfnNamesKey) is { } ffn ? ffn == LegacyFfn : options.LegacyFfnNames;
        var renames = Gemma3VisionAdapter.ProjectorToSingleFileNames(BlockCount(single.Tensors.Select(t => t.Name)), legacy)
            .ToDictionary(p => p.SingleFile, p => p.Projector, StringComparer.Ordinal);

        var textMetadata = new GgufMetadata();
        var projectorMetadata = new GgufMetadata();
        foreach (var (key, value) in source)
        {
            if (key.StartsWith(MmprojPrefix, StringComparison.Ordinal))
            {
                projectorMetadata.Add(key[MmprojPrefix.Length..], value);
            }
            else if (key.StartsWith("quanta.merge.", StringComparison.Ordinal)
                || key.StartsWith($"{Architecture}.vision.", StringComparison.Ordinal) || key.StartsWith($"{Architecture}.mm.", StringComparison.Ordinal))
            {
                // A vision key the text file had before the merge is put back where it stood.
                if (source.TryGetValue(TextPrefix + key, out var old))
                {
                    textMetadata.Add(key, old);
                }
            }
            else
            {
                textMetadata.Add(key, value);
            }
        }
        if (projectorMetadata.Count == 0)
        {
            projectorMetadata = ProjectorMetadata(single, source);
        }

        var textParts = new List<(GgufTensor, string)>();
        var projectorParts = new List<(GgufTensor, string)>();
        foreach (var tensor in single.Tensors)
        {
            if (!IsVisionTensor(tensor.Name))
            {
                textParts.Add((tensor, tensor.Name));
            }
            else if (renames.TryGetValue(tensor.Name, out var name))
            {
                projectorParts.Add((tensor, name));
            }
            else
            {
                throw new ConversionException($"{single.Path}: unexpected vision tensor '{tensor.Name}' for gemma3; split-vision knows the names of Ollama's gemma3 files");
            }
        }
        var tokenType = CheckTokenEmbedding(single, options.TokenEmbeddingType);
        Write([(textPath, textMetadata, textParts), (mmprojPath, projectorMetadata, projectorParts)], tokenType, single.FilePaths, options.CancellationToken);
    }

    /// <summary>The projector's keys rebuilt from <c>gemma3.vision.*</c>, as llama.cpp's gemma3 mmproj converter writes them.</summary>
    static GgufMetadata ProjectorMetadata(GgufFile single, GgufMetadata source)
    {
        uint Vision(string key) => RequireUInt32(single, $"{Architecture}.vision.{key}");
        var fileType = single.FindTensor("v.blk.0.attn_q.weight")?.Type == GgmlType.F32 ? 0u : 1u;
        var metadata = new GgufMetadata
        {
            { GgufKeys.Architecture, GgufValue.String(MultimodalTensors.ClipArchitecture) },
            { GgufKeys.FileType, GgufValue.UInt32(fileType) },
            { "clip.has_vision_encoder", GgufValue.Bool(true) },
            { "clip.vision.projection_dim", GgufValue.UInt32(RequireUInt32(single, $"{Architecture}.embedding_length")) },
            { "clip.vision.image_size", GgufValue.UInt32(Vision("image_size")) },
            { "clip.vision.patch_size", GgufValue.UInt32(Vision("patch_size")) },
            { "clip.vision.embedding_length", GgufValue.UInt32(Vision("embedding_length")) },
            { "clip.vision.feed_forward_length", GgufValue.UInt32(Vision("feed_forward_length")) },
            { "clip.vision.block_count", GgufValue.UInt32(Vision("block_count")) },
            { "clip.vision.attention.head_count", GgufValue.UInt32(Vision("attention.head_count")) },
            { "clip.vision.image_mean", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])) },
            { "clip.vision.image_std", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])) },
            { "clip.projector_type", GgufValue.String(Architecture) },
            { "clip.vision.attention.layer_norm_epsilon", GgufValue.Float32((float?)source.LenientFloat($"{Architecture}.vision.attention.layer_norm_epsilon") ?? 1e-6f) },
            { "clip.use_gelu", GgufValue.Bool(true) },
        };
        // clip.cpp pools the patch grid by 4 per side unless told otherwise.
        var tokens = source.LenientInteger($"{Architecture}.mm.tokens_per_image") ?? 256;
        var perSide = (long)Math.Round(Math.Sqrt(tokens));
        var grid = Vision("image_size") / Math.Max(1, Vision("patch_size"));
        if (perSide > 0 && perSide * perSide == tokens && grid % perSide == 0 && grid / perSide != 4)
        {
            metadata.Add("clip.vision.projector.scale_factor", GgufValue.UInt32((uint)(grid / perSide)));
        }
        return metadata;
    }

    static uint TokensPerImage(GgufFile mmproj)
    {
        var grid = RequireUInt32(mmproj, "clip.vision.image_size") / Math.Max(1, RequireUInt32(mmproj, "clip.vision.patch_size"));
        var scale = mmproj.Metadata.LenientInteger("clip.vision.projector.scale_factor") is { } s and > 0 ? (uint)s : 4u;
        var perSide = grid / scale;
        return perSide * perSide;
    }

    static int BlockCount(IEnumerable<string> names)
    {
        var count = 0;
        foreach (var name in names)
        {
            var match = BlockName().Match(name);
            if (match.Success)
            {
                count = Math.Max(count, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1);
            }
        }
        return count;
    }

    static void RequireArchitecture(GgufFile file, string expected, string what)
    {
        var architecture = file.Metadata.LenientString(GgufKeys.Architecture);
        if (architecture != expected)
        {
            throw new ConversionException($"{file.Path}: general.architecture is {(architecture is null ? "not set" : $"'{architecture}'")}; expected {what} (general.architecture = {expected})");
        }
    }

    static uint RequireUInt32(GgufFile file, string key) =>
        file.Metadata.LenientInteger(key) is { } value and >= 0 and <= uint.MaxValue
            ? (uint)value
            : throw new ConversionException($"{file.Path}: {key} is missing or not an unsigned 32-bit integer");

    /// <summary>Checks a requested token-embedding type before anything is written; null when the tensor is copied.</summary>
    static GgmlType? CheckTokenEmbedding(GgufFile file, GgmlType? type)
    {
        if (type is not { } target)
        {
            return null;
        }
        var tensor = file.FindTensor(TokenEmbedding)
            ?? throw new ConversionException($"{file.Path}: no tensor '{TokenEmbedding}' to requantize");
        var info = GgmlTypeInfo.Of(target);
        if (!BlockCodecs.TryGet(target, out var encoder) || !encoder.CanEncode || encoder is SuperBlockCodec { RequiresImportance: true })
        {
            throw new ConversionException($"--token-embedding-type {info.Name}: Quanta cannot write {info.Name} without an importance matrix; use q6_k or q8_0");
        }
        if (!BlockCodecs.TryGet(tensor.Type, out _))
        {
            throw new ConversionException($"{file.Path}: cannot read {TokenEmbedding} of type {GgmlTypeInfo.Of(tensor.Type).Name}");
        }
        if (tensor.Info.RowLength % info.BlockElements != 0)
        {
            throw new ConversionException($"--token-embedding-type {info.Name}: {TokenEmbedding} rows of {tensor.Info.RowLength} are not a whole number of {info.BlockElements}-element blocks");
        }
        return target == tensor.Type ? null : target;
    }

    /// <summary>
    /// Writes every output through the quantization pipeline: each tensor copied, except <c>token_embd.weight</c>
    /// when <paramref name="tokenType"/> asks for another type (decoded to f32 and encoded without an importance
    /// matrix, as llama-quantize does, so a NaN is reported as quantize reports it). The outputs are published
    /// together; on any error or cancellation none is left.
    /// </summary>
    static void Write(IReadOnlyList<(string Path, GgufMetadata Metadata, List<(GgufTensor Source, string Name)> Parts)> outputs,
        GgmlType? tokenType, IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        var sources = new List<ISourceTensor>();
        var decisions = new List<(GgufTensorInfo, TensorTypeDecision)>();
        var files = new List<QuantizationOutputFile>();
        foreach (var (path, metadata, parts) in outputs)
        {
            files.Add(new QuantizationOutputFile(Path.GetFullPath(path), metadata, sources.Count, parts.Count));
            foreach (var (source, name) in parts)
            {
                sources.Add(source);
                var info = new GgufTensorInfo(name, source.Shape, source.Type);
                decisions.Add(source.Name == TokenEmbedding && tokenType is { } type
                    ? (info, new TensorTypeDecision(type, TensorTypeReason.TokenEmbeddingType, "--token-embedding-type"))
                    : (info, new TensorTypeDecision(source.Type, TensorTypeReason.CopyOnly, "copied")));
            }
        }
        // The plan's hyperparameters and preset only matter to llama-quantize's mix rules, which a plan of
        // decided types does not consult.
        var plan = QuantizationPlan.FromDecisions(decisions, new ModelHyperparameters(Architecture, 0, [], []), QuantizationPresets.Parse("COPY"));
        var job = QuantizationJob.Create(new PackagingInput(inputs), plan, sources, files, new QuantizerOptions { AllowRequantize = true });
        Quantizer.Run(job, null, cancellationToken);
    }

    /// <summary>The files being repackaged, as the pipeline sees them: only their paths matter (never overwritten).</summary>
    sealed class PackagingInput(IReadOnlyList<string> filePaths) : ITensorSource
    {
        public GgufMetadata Metadata { get; } = new();

        public IReadOnlyList<ISourceTensor> Tensors => [];

        public IReadOnlyList<string> FilePaths => filePaths;
    }
}
