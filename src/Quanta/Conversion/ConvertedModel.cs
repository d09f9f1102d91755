using Quanta.Conversion.Gptq;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>
/// A Hugging Face checkpoint directory seen as the GGUF model llama.cpp's converter would write: GGUF tensor
/// names and shapes over the mapped safetensors, transformed to float32 on demand, and the metadata in the
/// converter's order. Nothing is read beyond headers until the pipeline asks for rows.
/// </summary>
public sealed class ConvertedModel : IConvertedModel
{
    readonly SafetensorsCheckpoint _checkpoint;
    readonly GgufMetadata _earlyKeys;

    ConvertedModel(string directory, HfConfig config, string hfArchitecture, ArchitectureAdapter adapter, SafetensorsCheckpoint checkpoint,
        List<ConvertedTensor> tensors, GgufMetadata earlyKeys, IReadOnlyList<KeyValuePair<string, GgufValue>>? tokenizerKeys)
    {
        Directory = directory;
        Config = config;
        HfArchitecture = hfArchitecture;
        Adapter = adapter;
        _checkpoint = checkpoint;
        Tensors = tensors;
        _earlyKeys = earlyKeys;
        TokenizerKeys = tokenizerKeys;
        ParameterCount = tensors.Sum(t => t.Info.ElementCount);
    }

    public string Directory { get; }

    public HfConfig Config { get; }

    /// <summary>config.json's <c>architectures[0]</c>.</summary>
    public string HfArchitecture { get; }

    public ArchitectureAdapter Adapter { get; }

    /// <summary>GGUF tensors in the converter's order: generated ones first, then the checkpoint's.</summary>
    public IReadOnlyList<ConvertedTensor> Tensors { get; }

    /// <inheritdoc/>
    public IEnumerable<StoredTensor> StoredTensors =>
        Tensors.Select(t => new StoredTensor(t.Info.Name, t.Info.Shape, t.Source?.Name, t.StoredType, t.StoredBytes));

    /// <summary>The <c>tokenizer.*</c> keys, or null when no tokenizer import ran (the output then has none).</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>>? TokenizerKeys { get; }

    /// <summary>Elements in all output tensors: what <c>general.size_label</c> is derived from.</summary>
    public long ParameterCount { get; }

    /// <summary>The element type of the checkpoint's first tensor, which <c>--outtype auto</c> looks at.</summary>
    public SafetensorsDType? FirstTensorType => _checkpoint.Tensors.Count == 0 ? null : _checkpoint.Tensors[0].Type;

    /// <summary><c>--outtype auto</c> (convert_hf_to_gguf.py, 2026): f16 when the first tensor is float16, otherwise bf16.</summary>
    public ConverterOutputType AutoOutputType => FirstTensorType == SafetensorsDType.F16 ? ConverterOutputType.F16 : ConverterOutputType.BF16;

    string IConvertedModel.OutputDirectory => Directory;

    /// <summary>Files the weights come from.</summary>
    public IReadOnlyList<string> FilePaths => [.. _checkpoint.Files.Select(f => f.Path)];

    /// <summary>
    /// Opens <paramref name="directory"/>: config.json picks the architecture, the safetensors headers are
    /// validated, every tensor gets its GGUF name. Throws <see cref="ConversionException"/> (unsupported
    /// architecture, missing field, unmappable tensor) or <see cref="SafetensorsFormatException"/>.
    /// </summary>
    public static ConvertedModel Open(string directory, ITokenizerKeysSource? tokenizer = null) =>
        Open(directory, tokenizer, MultimodalLayout.SingleFile);

    /// <summary>
    /// Opens the model file of <paramref name="directory"/>: for a multimodal checkpoint, with
    /// <see cref="MultimodalLayout.SingleFile"/> the text model with the vision tower and projector (Ollama's
    /// layout), with <see cref="MultimodalLayout.Projector"/> the text model alone (its projector comes from
    /// <see cref="OpenProjector"/>). A text-only checkpoint is the same either way.
    /// </summary>
    public static ConvertedModel Open(string directory, ITokenizerKeysSource? tokenizer, MultimodalLayout layout)
    {
        var config = LoadConfig(directory);
        return Open(directory, config, HfArchitectures.Get(config.Architecture, layout), tokenizer);
    }

    /// <summary>
    /// The projector (mmproj) file of a multimodal checkpoint as llama.cpp writes it: architecture <c>clip</c>,
    /// <c>clip.*</c> keys, the vision tower's <c>v.*</c> and the projector's <c>mm.*</c> tensors. Throws a
    /// <see cref="ConversionException"/> for an architecture without a vision tower.
    /// </summary>
    public static ConvertedModel OpenProjector(string directory)
    {
        var config = LoadConfig(directory);
        return Open(directory, config, HfArchitectures.GetProjector(config.Architecture), null);
    }

    static HfConfig LoadConfig(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException(File.Exists(directory)
                ? $"{directory}: is a file; give the checkpoint's directory (with config.json and *.safetensors)"
                : $"{directory}: directory not found");
        }
        return HfConfig.Load(Path.Combine(directory, "config.json"));
    }

    static ConvertedModel Open(string directory, HfConfig rawConfig, ArchitectureAdapter adapter, ITokenizerKeysSource? tokenizer)
    {
        var hfArchitecture = rawConfig.Architecture!;
        var config = adapter.ConfigFor(rawConfig);
        var tokenizerKeys = tokenizer?.GetKeys(new TokenizerRequest(directory, hfArchitecture, adapter.Architecture, config));
        int? vocabulary = tokenizerKeys?.FirstOrDefault(k => k.Key == "tokenizer.ggml.tokens").Value is { Type: GgufValueType.Array } tokens
            ? tokens.AsArray().Count
            : null;
        var context = new ConversionContext(config, hfArchitecture, vocabulary, directory);

        var packed = PackedInt4Checkpoint.From(config, directory);
        var checkpoint = SafetensorsCheckpoint.Open(directory);
        try
        {
            var earlyKeys = new GgufMetadata();
            var tensors = new List<ConvertedTensor>(adapter.ExtraTensors(context, earlyKeys));
            var shardOf = checkpoint.Files.Select((f, i) => (f.Path, i)).ToDictionary(p => p.Path, p => p.i, StringComparer.Ordinal);
            foreach (var tensor in checkpoint.Tensors)
            {
                if (packed is not null && PackedInt4Checkpoint.IsPacked(tensor.Name))
                {
                    // A GPTQ/AWQ layer becomes one tensor, named as its module's float weight would be.
                    if (tensor.Name.EndsWith(".qweight", StringComparison.Ordinal))
                    {
                        tensors.Add(PackedTensor(packed, checkpoint, context, adapter, tensor, shardOf[tensor.FilePath]));
                    }
                    continue;
                }
                if (adapter.Map(context, tensor.Name) is { } mapping)
                {
                    tensors.Add(ConvertedTensor.FromCheckpoint(tensor, mapping, shardOf[tensor.FilePath]));
                }
            }
            var duplicate = tensors.GroupBy(t => t.Info.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new ConversionException($"two checkpoint tensors map to '{duplicate.Key}'");
            }
            return new ConvertedModel(directory, config, hfArchitecture, adapter, checkpoint, tensors, earlyKeys, tokenizerKeys);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    static ConvertedTensor PackedTensor(PackedInt4Checkpoint packed, SafetensorsCheckpoint checkpoint, ConversionContext context, ArchitectureAdapter adapter,
        SafetensorsTensor qweight, int shard)
    {
        var module = qweight.Name[..^".qweight".Length];
        var mapping = adapter.Map(context, module + ".weight")
            ?? throw new ConversionException($"'{module}' is a packed layer the architecture {adapter.Architecture} does not convert");
        var scales = checkpoint.FindTensor(module + ".scales") is { Shape.Count: 2 } s ? s : throw new ConversionException($"'{module}' has no 2-D scales");
        var outFeatures = scales.Shape[1];
        var inFeatures = qweight.Shape.Count == 2
            ? packed.Format == PackedInt4Format.AwqGemm ? qweight.Shape[0] : qweight.Shape[0] * 8
            : throw new ConversionException($"'{qweight.Name}' is not 2-D");
        var storedBytes = PackedInt4Checkpoint.PackedSuffixes.Sum(suffix => checkpoint.FindTensor(module + suffix)?.ByteSize ?? 0);
        return ConvertedTensor.FromPacked(module, () => packed.Load(checkpoint, module), inFeatures, outFeatures, mapping, shard, qweight.FileOffset, storedBytes);
    }

    /// <summary>
    /// The metadata the converter writes for <paramref name="fileType"/> (<c>general.file_type</c>), in its
    /// order: architecture, keys written while generating tensors, type, name and size label, the
    /// architecture's keys, the tokenizer's, then the quantization version.
    /// </summary>
    public GgufMetadata CreateMetadata(uint fileType)
    {
        var metadata = new GgufMetadata();
        metadata.Add(GgufKeys.Architecture, GgufValue.String(Adapter.Architecture));
        foreach (var (key, value) in _earlyKeys)
        {
            metadata.Add(key, value);
        }
        metadata.Add("general.type", GgufValue.String(Adapter.GgufType));
        metadata.Add(GgufKeys.Name, GgufValue.String(ModelName()));
        if (ParameterCount > 0)
        {
            metadata.Add("general.size_label", GgufValue.String(ModelNaming.SizeLabel(ParameterCount)));
        }
        Adapter.WriteParameters(new ConversionContext(Config, HfArchitecture, Directory: Directory), metadata, fileType);
        foreach (var (key, value) in TokenizerKeys ?? [])
        {
            metadata.Replace(key, value);
        }
        metadata.Set(GgufKeys.QuantizationVersion, GgufValue.UInt32(2));
        return metadata;
    }

    /// <summary>
    /// gguf-py's fallbacks for <c>general.name</c>: config.json's <c>_name_or_path</c> when it is a hub id
    /// (at most one '/'), else the directory's name, in title form.
    /// </summary>
    string ModelName()
    {
        var id = Config.String("_name_or_path") is { } nameOrPath && nameOrPath.Count(c => c == '/') <= 1 && nameOrPath.Length > 0
            ? nameOrPath
            : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(Directory)));
        if (id.Contains(' ', StringComparison.Ordinal))
        {
            return id;
        }
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        return ModelNaming.IdToTitle(slash < 0 ? id : id[(slash + 1)..]);
    }

    /// <summary>The model as a tensor source with the given metadata, for the quantization pipeline.</summary>
    public ITensorSource AsSource(GgufMetadata metadata) => new Source(this, metadata, model => model.Tensors);

    /// <summary>
    /// The model as a tensor source whose tensors arrive in float32, or in F16 where
    /// <paramref name="halfPrecision"/> says so (a multimodal model's image tensors, which a quantization keeps
    /// as the converter wrote them).
    /// </summary>
    public ITensorSource AsSource(GgufMetadata metadata, Func<ConvertedTensor, bool> halfPrecision)
    {
        ArgumentNullException.ThrowIfNull(halfPrecision);
        return new Source(this, metadata, model => [.. model.Tensors.Select(t => halfPrecision(t) ? (ISourceTensor)new HalfPrecisionTensor(t) : t)]);
    }

    public IEnumerable<(GgufTensorInfo Info, TensorTypeDecision Decision)> ConverterDecisions(ConverterOutputType type) =>
        Tensors.Select(t => (t.Info, ConverterTypeRules.Choose(t, type)));

    /// <summary>
    /// The tensors of the f32 conversion, except that image tensors of a single-file multimodal model, which a
    /// preset keeps, arrive as the f16 / bf16 conversion writes them (F16, as Ollama ships them).
    /// </summary>
    public ITensorSource AsPresetSource(GgufMetadata metadata) =>
        Tensors.Any(IsImageTensor)
            ? AsSource(metadata, t => IsImageTensor(t) && ConverterTypeRules.Choose(t, ConverterOutputType.F16).Type == GgmlType.F16)
            : AsSource(metadata);

    static bool IsImageTensor(ConvertedTensor tensor) => MultimodalTensors.ComponentOf(tensor.Info.Name) != MultimodalComponent.None;

    /// <summary>
    /// GPTQ/AWQ layers planned as Q4_0 or Q4_1 are copied losslessly when their groups allow it; says how many
    /// could not be (act-order, asymmetric zeros for Q4_0 ...) and are requantized from float32 instead.
    /// </summary>
    public IReadOnlyList<string> Warnings(QuantizationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var byName = Tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
        var lossy = new List<(string Name, string Reason)>();
        foreach (var entry in job.Plan.Entries.Where(e => e.TargetType is GgmlType.Q4_0 or GgmlType.Q4_1))
        {
            if (byName.TryGetValue(entry.Name, out var tensor) && tensor.PackedLayer is not null && !tensor.IsLossless(entry.TargetType, out var reason))
            {
                lossy.Add((entry.Name, reason!));
            }
        }
        return lossy.Count == 0
            ? []
            : [$"{lossy.Count} GPTQ/AWQ layer(s) cannot map to Q4_0/Q4_1 losslessly and are requantized from float32 (first: '{lossy[0].Name}': {lossy[0].Reason})"];
    }

    sealed class Source(ConvertedModel model, GgufMetadata metadata, Func<ConvertedModel, IReadOnlyList<ISourceTensor>> tensors) : ITensorSource
    {
        public GgufMetadata Metadata { get; } = metadata;

        public IReadOnlyList<ISourceTensor> Tensors { get; } = tensors(model);

        public IReadOnlyList<string> FilePaths => model.FilePaths;
    }

    public void Dispose() => _checkpoint.Dispose();
}
