using System.Security.Cryptography;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats.PyTorch;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;
using Quanta.Formats.Tokenizer;
using Quanta.Quantization;
using Quanta.Templates;
using Quanta.Templates.Go;

namespace Quanta.Store;

/// <summary>
/// <c>create</c>: turns a Modelfile into layers and a manifest, as <c>ollama create</c> does (server/create.go),
/// with Quanta's quantizer writing the quantized model straight into the store's temporary blob file while
/// hashing it. A failure or cancellation at any step leaves the store as it was: the manifest is written last,
/// and blobs this create added are collected again when nothing else uses them.
/// </summary>
public sealed class ModelCreator
{
    readonly ModelStore _store;
    readonly CreateOptions _options;
    readonly CancellationToken _cancellationToken;
    readonly List<string> _newBlobs = [];

    /// <summary>The base model's name, set as <c>from</c> on every layer inherited from it (Ollama's parseFromModel, server/model.go).</summary>
    string? _baseName;

    ModelCreator(ModelStore store, CreateOptions options, CancellationToken cancellationToken)
    {
        _store = store;
        _options = options;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Creates (or replaces) <paramref name="name"/> from <paramref name="modelfile"/>.</summary>
    /// <param name="baseDirectory">Where relative paths in the Modelfile start: the Modelfile's directory.</param>
    /// <exception cref="ModelfileException">A FROM, ADAPTER or DRAFT line names something unusable.</exception>
    /// <exception cref="StoreException">The base model is missing or damaged.</exception>
    /// <exception cref="QuantizationException">The model cannot be quantized as asked.</exception>
    public static Manifest Create(ModelStore store, ModelName name, Modelfile modelfile, string baseDirectory, CreateOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(modelfile);
        options ??= CreateOptions.Default;
        if (options.QuantizationOptions.KeepSplit || options.Run.SplitMaxBytes is not null || options.Run.SplitMaxTensors is not null || options.Run.Shards is not null)
        {
            throw new QuantizationException("a model layer is a single file: --keep-split, --split-max-size, --split-max-tensors and --shards cannot be used with create");
        }
        ValidateTemplate(modelfile);
        foreach (var warning in modelfile.Warnings)
        {
            options.Warning?.Invoke(warning);
        }
        var creator = new ModelCreator(store, options, cancellationToken);
        try
        {
            using (store.EnterWriter(cancellationToken))
            {
                return creator.Build(name, modelfile, baseDirectory);
            }
        }
        catch
        {
            // Blobs written for a model that never got its manifest: remove them unless another manifest
            // names them by now (or another writer is at work, in which case a later collection will).
            if (creator._newBlobs.Count > 0)
            {
                try
                {
                    store.DeleteUnreferenced(creator._newBlobs, TimeSpan.Zero);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or StoreException)
                {
                    // The original failure is the one to report.
                }
            }
            throw;
        }
    }

    /// <summary>
    /// Ollama's <c>setTemplate</c>: a TEMPLATE that does not parse as Ollama parses it is refused with Ollama's words
    /// (<c>template error: template: :1: unexpected EOF</c>), here before anything is written.
    /// </summary>
    static void ValidateTemplate(Modelfile modelfile)
    {
        if (modelfile.Template is { Length: > 0 } template)
        {
            try
            {
                OllamaTemplate.Parse(template);
            }
            catch (TemplateException e)
            {
                throw new ModelfileException($"template error: {e.Message}", e);
            }
        }
    }

    void Status(string text) => _options.Status?.Invoke(text);

    Manifest Build(ModelName name, Modelfile modelfile, string baseDirectory)
    {
        Manifest? baseManifest = null;
        ModelName? baseName = null;
        string? modelPath = null;
        ModelfileInstruction? checkpointLine = null;
        string? checkpointDirectory = null;
        var gemmaInt8 = false;
        var projectorPaths = new List<string>();
        foreach (var fromLine in modelfile.Instructions.Where(i => i.Command == ModelfileCommand.From))
        {
            switch (ModelSource.Resolve(fromLine.Value, baseDirectory, fromLine.Line))
            {
                case ModelSource.StoredModelSource stored:
                    if (baseManifest is not null)
                    {
                        throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: only one FROM may name a model in the store");
                    }
                    baseName = stored.Name;
                    baseManifest = _store.GetManifest(stored.Name);
                    break;
                case ModelSource.CheckpointSource checkpoint:
                    if (modelPath is not null || checkpointDirectory is not null)
                    {
                        throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: a second model; a model has one (a second FROM is for its vision projector)");
                    }
                    checkpointDirectory = checkpoint.Directory;
                    checkpointLine = fromLine;
                    break;
                case ModelSource.GemmaInt8Source ckpt:
                    if (modelPath is not null || checkpointDirectory is not null)
                    {
                        throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: a second model; a model has one (a second FROM is for its vision projector)");
                    }
                    checkpointDirectory = ckpt.Path;
                    checkpointLine = fromLine;
                    gemmaInt8 = true;
                    break;
                case ModelSource.GgufFileSource file:
                    var role = ClassifyFile(file.Path, fromLine.Line);
                    if (role == GgufRole.Adapter)
                    {
                        throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: this GGUF is a LoRA adapter; use ADAPTER for it");
                    }
                    if (role == GgufRole.Projector)
                    {
                        projectorPaths.Add(file.Path);
                    }
                    else if (modelPath is null && checkpointDirectory is null)
                    {
                        modelPath = file.Path;
                    }
                    else
                    {
                        throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: a second model GGUF; a model has one (a second FROM is for its vision projector)");
                    }
                    break;
            }
        }
        if ((modelPath is not null || checkpointDirectory is not null) && baseManifest is not null)
        {
            throw new ModelfileException(0, "FROM names both a model in the store and a model GGUF file; use one of them");
        }

        var inherited = baseManifest?.Layers ?? [];
        var from = baseName?.DisplayShortest;
        _baseName = from;
        var layers = new List<ManifestLayer>();

        // The weights.
        ManifestLayer modelLayer;
        if (modelPath is not null)
        {
            modelLayer = GgufLayer(modelPath, MediaTypes.Model, _options.Quantize);
        }
        else if (checkpointDirectory is not null)
        {
            modelLayer = ConvertedLayer(checkpointDirectory, checkpointLine!, gemmaInt8);
        }
        else if (baseManifest is not null)
        {
            var baseModel = inherited.FirstOrDefault(l => l.MediaType == MediaTypes.Model)
                ?? throw new StoreException($"model '{baseName!.DisplayShortest}' has no model layer");
            modelLayer = StoredGgufLayer(baseModel, _options.Quantize, from);
        }
        else
        {
            throw new ModelfileException(0, "no model in FROM: only projector files were given");
        }
        layers.Add(modelLayer);

        // Projectors: new files replace inherited ones.
        if (projectorPaths.Count > 0)
        {
            layers.AddRange(projectorPaths.Select(p => GgufLayer(p, MediaTypes.Projector, _options.QuantizeProjector)));
        }
        else
        {
            layers.AddRange(inherited.Where(l => l.MediaType == MediaTypes.Projector).Select(l => StoredGgufLayer(l, _options.QuantizeProjector, from)));
        }

        // Adapters.
        var adapters = modelfile.Instructions.Where(i => i.Command == ModelfileCommand.Adapter).ToList();
        if (adapters.Count > 1)
        {
            throw new ModelfileException(adapters[1].Line, "only one adapter is currently supported");
        }
        if (adapters.Count == 1)
        {
            layers.Add(AdapterLayer(adapters[0], baseDirectory));
        }
        else
        {
            layers.AddRange(inherited.Where(l => l.MediaType == MediaTypes.Adapter).Select(l => Reuse(l)));
        }

        // Draft model.
        if (modelfile.Instructions.LastOrDefault(i => i.Command == ModelfileCommand.Draft) is { } draft)
        {
            var source = ModelSource.Resolve(draft.Value, baseDirectory, draft.Line, "DRAFT");
            if (source is not ModelSource.GgufFileSource draftFile)
            {
                throw new ModelfileException(draft.Line, $"DRAFT {draft.Value}: expected a GGUF file");
            }
            if (modelPath is not null && Path.GetFullPath(draftFile.Path) == Path.GetFullPath(modelPath))
            {
                throw new ModelfileException(draft.Line, $"DRAFT must not reference the same local path as FROM: {draftFile.Path}");
            }
            ClassifyFile(draftFile.Path, draft.Line);
            layers.Add(GgufLayer(draftFile.Path, MediaTypes.Draft, null));
        }
        else
        {
            layers.AddRange(inherited.Where(l => l.MediaType == MediaTypes.Draft).Select(l => Reuse(l)));
        }

        // Text layers: what the Modelfile says replaces what the base model had.
        AddText(layers, inherited, MediaTypes.Template, modelfile.Template, MediaTypes.Prompt);
        AddText(layers, inherited, MediaTypes.System, modelfile.System);
        // A LICENSE adds to the base model's licenses, as Ollama's setLicense appends (server/create.go).
        layers.AddRange(inherited.Where(l => l.MediaType == MediaTypes.License).Select(l => Reuse(l)));
        layers.AddRange(modelfile.Licenses.Select(l => NewLayer(MediaTypes.License, System.Text.Encoding.UTF8.GetBytes(l))));

        var parameters = modelfile.Parameters;
        if (inherited.FirstOrDefault(l => l.MediaType == MediaTypes.Params) is { } baseParams)
        {
            parameters = parameters.MergedOver(ModelParameters.FromJson(_store.ReadBlob(baseParams)));
        }
        if (parameters.Count > 0)
        {
            layers.Add(NewLayer(MediaTypes.Params, parameters.ToJson()));
        }

        var messages = modelfile.Messages;
        if (messages.Count > 0)
        {
            var json = StoreJson.Write(w =>
            {
                w.WriteStartArray();
                foreach (var (role, content) in messages)
                {
                    w.WriteStartObject();
                    w.WriteString("role", role);
                    w.WriteString("content", content);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            layers.Add(NewLayer(MediaTypes.Messages, json));
        }
        else
        {
            layers.AddRange(inherited.Where(l => l.MediaType == MediaTypes.Messages).Select(l => Reuse(l)));
        }

        var baseConfig = baseManifest is null ? null : _store.GetConfig(baseManifest);
        var config = BuildConfig(layers, modelfile, baseConfig);
        var configBlob = AddBlob(config.ToJson());
        var manifest = new Manifest
        {
            Config = new ManifestLayer { MediaType = MediaTypes.Config, Digest = configBlob.Digest, Size = configBlob.Size },
            Layers = layers,
        };
        _cancellationToken.ThrowIfCancellationRequested();
        Status("writing manifest");
        _store.WriteManifest(name, manifest);
        Status("success");
        return manifest;
    }

    GgufRole ClassifyFile(string path, int line)
    {
        try
        {
            using var file = GgufFile.Open(path);
            return GgufRoles.Classify(file.Metadata);
        }
        catch (GgufFormatException e)
        {
            throw new ModelfileException(line, $"{path}: supplied file was not in GGUF format ({e.Message})");
        }
    }

    ManifestLayer AdapterLayer(ModelfileInstruction adapter, string baseDirectory)
    {
        var source = ModelSource.Resolve(adapter.Value, baseDirectory, adapter.Line, "ADAPTER");
        if (source is not ModelSource.GgufFileSource file)
        {
            throw new ModelfileException(adapter.Line, $"ADAPTER {adapter.Value}: expected a GGUF file");
        }
        if (file.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelfileException(adapter.Line, $"ADAPTER {adapter.Value}: safetensors adapters are not supported yet; convert the LoRA to GGUF first");
        }
        if (ClassifyFile(file.Path, adapter.Line) != GgufRole.Adapter)
        {
            throw new ModelfileException(adapter.Line, $"ADAPTER {adapter.Value}: this GGUF is not a LoRA adapter (general.type is not \"adapter\")");
        }
        return GgufLayer(file.Path, MediaTypes.Adapter, null);
    }

    /// <summary>A GGUF file as a layer: copied while hashed, or quantized straight into the blob.</summary>
    ManifestLayer GgufLayer(string path, string mediaType, QuantizationPreset? quantize)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        using var file = GgufFile.Open(path);
        if (mediaType == MediaTypes.Model && !file.Metadata.ContainsKey(TokenizerKeys.Model))
        {
            // As for a checkpoint without tokenizer files: llama.cpp and Ollama refuse to load such a model.
            _options.Warning?.Invoke($"'{path}' has no tokenizer (no {TokenizerKeys.Model} key), so the model cannot run as is");
        }
        if (quantize is not null)
        {
            return Quantized(file, mediaType, quantize, null);
        }
        var blob = file.IsSplit ? WriteMerged(file) : Track(_store.ImportFile(path, _cancellationToken));
        return LayerOf(mediaType, blob, null);
    }

    /// <summary>A layer of the base model: reused, or quantized from its verified blob.</summary>
    ManifestLayer StoredGgufLayer(ManifestLayer layer, QuantizationPreset? quantize, string? from)
    {
        // The bytes feed the new model either way (by reference or by quantization): check them first.
        if (quantize is null)
        {
            return Reuse(layer);
        }
        _store.VerifyBlob(layer, full: true, _cancellationToken);
        using var file = GgufFile.Open(_store.BlobPath(layer.Digest));
        return Quantized(file, layer.MediaType, quantize, from);
    }

    ManifestLayer Quantized(GgufFile source, string mediaType, QuantizationPreset preset, string? from)
    {
        var sourceType = LlamaFileTypes.NameIgnoringGuess(source.Metadata.LenientInteger(GgufKeys.FileType)) ?? "unknown";
        var what = mediaType == MediaTypes.Projector ? "projector" : "model";
        Status($"quantizing {sourceType} {what} to {preset.Name}");
        return JobLayer(mediaType, (temp, run) => QuantizationJob.Create(source, preset, temp, _options.QuantizationOptions, run), from);
    }

    /// <summary>
    /// A checkpoint converted in one pass straight into the blob. A Hugging Face directory: to <c>--quantize</c>'s
    /// preset when given (always a 'quanta quantize' preset, so Q8_0 is converting to f32 and quantizing), else
    /// to the checkpoint's own precision (<c>convert --type auto</c>). A gemma_pytorch int8 checkpoint
    /// (<paramref name="gemmaInt8"/>): the bytes of <c>quanta convert MODEL.ckpt --type auto</c> (Q8_0, the int8
    /// values kept where the scaler fits fp16), or with <c>--quantize T</c> those of <c>--type T</c>, so Q8_0, F16,
    /// BF16 and F32 are the converter's types, as convert reads them; its variant is
    /// <see cref="CreateOptions.GemmaVariant"/> or recognised from the shapes, since a Modelfile cannot name one.
    /// What the checkpoint cannot keep (GPTQ layers requantized, int8 rows re-encoded) is warned about.
    /// </summary>
    ManifestLayer ConvertedLayer(string path, ModelfileInstruction fromLine, bool gemmaInt8)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var variant = _options.GemmaVariant;
            if (gemmaInt8 && variant is null && GemmaInt8Conversion.Recognise(path) is null)
            {
                throw new ModelfileException(fromLine.Line,
                    $"FROM {fromLine.Value}: the checkpoint's shapes match no known Gemma variant, and a Modelfile cannot name one; convert it with 'quanta convert {fromLine.Value} --variant NAME' and use FROM with the .gguf file");
            }
            Status("converting model");
            using IConvertedModel model = gemmaInt8 ? GemmaInt8Conversion.Open(path, variant) : ConvertedModel.Open(path, _options.Tokenizer);
            if (model.TokenizerKeys is null)
            {
                _options.Warning?.Invoke(model is GemmaInt8Conversion gemma
                    ? $"no tokenizer.model beside '{gemma.CheckpointPath}'; the model has no tokenizer.* keys, so it cannot run as is"
                    : $"no tokenizer files Quanta can read in '{path}'; the model has no tokenizer.* keys, so it cannot run as is");
            }
            var preset = _options.Quantize;
            var converterType = preset is null ? model.AutoOutputType
                : gemmaInt8 ? CheckpointConversion.ParseConverterType(preset.Name, model.AutoOutputType)
                : null;
            if (converterType is null)
            {
                Status($"quantizing {model.AutoOutputType.ToString().ToUpperInvariant()} model to {preset!.Name}");
            }
            return JobLayer(MediaTypes.Model, (temp, run) =>
            {
                var job = converterType is { } type
                    ? CheckpointConversion.CreateJob(model, type, temp, run)
                    : CheckpointConversion.CreateJob(model, preset!, temp, _options.QuantizationOptions, run);
                foreach (var warning in model.Warnings(job))
                {
                    _options.Warning?.Invoke(warning);
                }
                return job;
            }, null);
        }
        catch (Exception e) when (e is ConversionException or SafetensorsFormatException or PyTorchFormatException or TokenizerFormatException)
        {
            throw new ModelfileException(fromLine.Line, $"FROM {fromLine.Value}: {e.Message}");
        }
    }

    /// <summary>Runs a quantization job whose output is a temporary blob file, hashing the bytes as they are written.</summary>
    ManifestLayer JobLayer(string mediaType, Func<string, QuantizerOptions, QuantizationJob> createJob, string? from)
    {
        var temp = _store.NewTempPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var run = _options.Run with { Writer = (_options.Run.Writer ?? new GgufWriterOptions()) with { ContentHash = hash } };
            var job = createJob(temp, run);
            if (job.RequantizedTensors > 0)
            {
                _options.Warning?.Invoke($"requantizing {job.RequantizedTensors} tensor(s) that are already quantized; this can severely reduce quality compared to quantizing from 16-bit or 32-bit weights");
            }
            _store.Step(StoreStep.BlobWrite);
            if (_options.RunQuantizer is { } runQuantizer)
            {
                runQuantizer(job, _cancellationToken);
            }
            else
            {
                Quantizer.Run(job, null, _cancellationToken);
            }
            var blob = Track(_store.CommitTempFile(temp, Digests.FromHash(hash.GetHashAndReset()), _cancellationToken));
            return LayerOf(mediaType, blob, from);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    StoredBlob WriteMerged(GgufFile split)
    {
        var temp = _store.NewTempPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _store.Step(StoreStep.BlobWrite);
            GgufWriter.CopyFile(split, temp, new GgufWriterOptions { ContentHash = hash, CancellationToken = _cancellationToken });
            return Track(_store.CommitTempFile(temp, Digests.FromHash(hash.GetHashAndReset()), _cancellationToken));
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// A TEMPLATE or SYSTEM layer. An empty one writes no layer and keeps the base model's, as Ollama's
    /// createModel only calls setTemplate / setSystem for a non-empty value (server/create.go).
    /// </summary>
    void AddText(List<ManifestLayer> layers, IReadOnlyList<ManifestLayer> inherited, string mediaType, string? text, string? alias = null)
    {
        if (!string.IsNullOrEmpty(text))
        {
            layers.Add(NewLayer(mediaType, System.Text.Encoding.UTF8.GetBytes(text)));
            return;
        }
        layers.AddRange(inherited.Where(l => l.MediaType == mediaType || l.MediaType == alias).Select(l => Reuse(l)));
    }

    ManifestLayer NewLayer(string mediaType, byte[] content) => LayerOf(mediaType, AddBlob(content), null);

    StoredBlob AddBlob(byte[] content)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        return Track(_store.AddBlob(content));
    }

    StoredBlob Track(StoredBlob blob)
    {
        if (blob.ReplacedCorrupt)
        {
            _options.Warning?.Invoke($"blob {blob.Digest} in the store was corrupt (its bytes no longer matched its digest); it has been written again");
        }
        if (!blob.Existed)
        {
            _newBlobs.Add(blob.Digest);
        }
        return blob;
    }

    ManifestLayer LayerOf(string mediaType, StoredBlob blob, string? from)
    {
        Status($"{(blob.Existed ? "using existing" : "creating new")} layer {blob.Digest}");
        return new ManifestLayer { MediaType = mediaType, Digest = blob.Digest, Size = blob.Size, From = from };
    }

    /// <summary>
    /// A layer of the base model, taken into the new one: verified in full first (a large blob once per size and
    /// modification time), since a damaged blob must not be passed on, and marked as coming from the base model.
    /// </summary>
    ManifestLayer Reuse(ManifestLayer layer)
    {
        _store.VerifyBlob(layer, full: true, _cancellationToken);
        Status($"using existing layer {layer.Digest}");
        return layer with { From = _baseName ?? layer.From };
    }

    /// <summary>The config Ollama writes: family, families, parameter count and file type from the model GGUF.</summary>
    ModelConfig BuildConfig(List<ManifestLayer> layers, Modelfile modelfile, ModelConfig? baseConfig)
    {
        var model = layers.First(l => l.MediaType == MediaTypes.Model);
        using var file = GgufFile.Open(_store.BlobPath(model.Digest));
        var metadata = file.Metadata;
        var family = metadata.LenientString(GgufKeys.Architecture) ?? baseConfig?.ModelFamily ?? "";
        var families = new List<string>();
        if (family.Length > 0)
        {
            families.Add(family);
        }
        foreach (var projector in layers.Where(l => l.MediaType == MediaTypes.Projector))
        {
            using var p = GgufFile.Open(_store.BlobPath(projector.Digest));
            if (p.Metadata.LenientString(GgufKeys.Architecture) is { } arch && !families.Contains(arch))
            {
                families.Add(arch);
            }
        }
        var parameterCount = file.Tensors.Sum(t => t.Info.ElementCount);
        var fileType = LlamaFileTypes.NameIgnoringGuess(metadata.LenientInteger(GgufKeys.FileType)) ?? baseConfig?.FileType ?? "unknown";
        return new ModelConfig
        {
            ModelFormat = "gguf",
            ModelFamily = family,
            ModelFamilies = families,
            ModelType = HumanNumber(parameterCount),
            FileType = fileType,
            Renderer = modelfile.Renderer ?? baseConfig?.Renderer,
            Parser = modelfile.Parser ?? baseConfig?.Parser,
            Requires = modelfile.Requires ?? baseConfig?.Requires,
        };
    }

    /// <summary>Ollama's <c>format.HumanNumber</c>: 8030261248 → "8.0B", 494032768 → "494.03M".</summary>
    public static string HumanNumber(long n)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (n >= 1_000_000_000_000)
        {
            return Scaled(n / 1e12, "T", "F1");
        }
        if (n >= 1_000_000_000)
        {
            return Scaled(n / 1e9, "B", "F1");
        }
        if (n >= 1_000_000)
        {
            return Scaled(n / 1e6, "M", "F2");
        }
        if (n >= 1_000)
        {
            return (n / 1e3).ToString("F0", inv) + "K";
        }
        return n.ToString(inv);

        string Scaled(double value, string unit, string format) =>
            (value == Math.Floor(value) ? value.ToString("F0", inv) : value.ToString(format, inv)) + unit;
    }
}
