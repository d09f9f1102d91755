using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.PyTorch;
using Quanta.Quantization;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>
/// A gemma_pytorch int8 checkpoint seen as the GGUF model <c>quanta convert</c> writes: the tensors of
/// <see cref="GemmaInt8Model"/> as float32 rows (<c>int8 · scaler</c>, norms + 1), the metadata of the Gemma
/// architecture adapters filled from the variant's numbers (the checkpoint stores none), and the tokenizer keys
/// from the SentencePiece <c>tokenizer.model</c>. Its matrices hand the pipeline Q8_0 blocks directly where the
/// row's scaler is an fp16 value, so converting to Q8_0 keeps every int8 value.
/// </summary>
public sealed class GemmaInt8Conversion : IConvertedModel
{
    readonly PyTorchCheckpoint _checkpoint;

    GemmaInt8Conversion(PyTorchCheckpoint checkpoint, GemmaInt8Model model, HfConfig config, string hfArchitecture,
        IReadOnlyList<KeyValuePair<string, GgufValue>>? tokenizerKeys)
    {
        _checkpoint = checkpoint;
        Model = model;
        Config = config;
        HfArchitecture = hfArchitecture;
        Adapter = HfArchitectures.Get(hfArchitecture);
        TokenizerKeys = tokenizerKeys;
        Tensors = [.. model.Tensors.Select(t => new GemmaInt8SourceTensor(t))];
        ParameterCount = Tensors.Sum(t => t.Info.ElementCount);
    }

    public GemmaInt8Model Model { get; }

    /// <summary>The config.json the variant corresponds to (Hugging Face field names), which the adapter reads.</summary>
    public HfConfig Config { get; }

    /// <summary>The Hugging Face architecture whose adapter writes the metadata (<c>Gemma2ForCausalLM</c> ...).</summary>
    public string HfArchitecture { get; }

    public ArchitectureAdapter Adapter { get; }

    public string CheckpointPath => _checkpoint.Path;

    public IReadOnlyList<GemmaInt8SourceTensor> Tensors { get; }

    /// <inheritdoc/>
    public IEnumerable<StoredTensor> StoredTensors =>
        Tensors.Select(t => new StoredTensor(t.Info.Name, t.Info.Shape, null, t.StoredType, t.StoredBytes));

    /// <summary>The <c>tokenizer.*</c> keys, or null when no tokenizer.model was found.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>>? TokenizerKeys { get; }

    public long ParameterCount { get; }

    /// <summary>True when <paramref name="path"/> looks like a torch.save zip (<c>PK\x03\x04</c>) or a directory holding one <c>*.ckpt</c>.</summary>
    public static bool IsCheckpoint(string path)
    {
        if (Directory.Exists(path))
        {
            return !File.Exists(Path.Combine(path, "config.json")) && Directory.GetFiles(path, "*.ckpt").Length > 0;
        }
        if (!File.Exists(path))
        {
            return false;
        }
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic is [(byte)'P', (byte)'K', 3, 4];
    }

    /// <summary>
    /// <c>--type auto</c> for a gemma_pytorch int8 checkpoint: Q8_0, which holds int8 values with a per-row scale
    /// exactly (wherever the scaler has an fp16 form).
    /// </summary>
    public const ConverterOutputType AutoType = ConverterOutputType.Q8_0;

    ConverterOutputType IConvertedModel.AutoOutputType => AutoType;

    string IConvertedModel.OutputDirectory => Path.GetDirectoryName(Path.GetFullPath(CheckpointPath))!;

    /// <summary>
    /// The known variant whose shapes the <c>*.ckpt</c> at <paramref name="path"/> (or the one in that directory)
    /// has, or null when none matches, so that a caller can name its own way out before converting.
    /// </summary>
    /// <exception cref="ConversionException">A directory with no or several <c>*.ckpt</c> files.</exception>
    /// <exception cref="PyTorchFormatException">The file is not a gemma_pytorch state dict.</exception>
    public static GemmaVariant? Recognise(string path)
    {
        using var checkpoint = PyTorchCheckpoint.Open(CheckpointFile(path));
        return GemmaInt8Model.Recognise(checkpoint);
    }

    static string CheckpointFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Directory.Exists(path))
        {
            return path;
        }
        var found = Directory.GetFiles(path, "*.ckpt");
        return found.Length == 1
            ? found[0]
            : throw new ConversionException(found.Length == 0 ? $"{path}: no *.ckpt file" : $"{path}: {found.Length} *.ckpt files; name one");
    }

    /// <summary>
    /// Opens a <c>*.ckpt</c> (or the directory holding one), recognises or checks the variant, and reads the tokenizer:
    /// <paramref name="tokenizerPath"/>, else <c>tokenizer.model</c> beside the checkpoint.
    /// </summary>
    public static GemmaInt8Conversion Open(string path, GemmaVariant? variant = null, string? tokenizerPath = null)
    {
        var file = CheckpointFile(path);
        var checkpoint = PyTorchCheckpoint.Open(file);
        try
        {
            var model = GemmaInt8Model.Open(checkpoint, variant);
            var (hfArchitecture, config) = ConfigOf(model.Variant);
            tokenizerPath ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "tokenizer.model");
            var tokenizerKeys = File.Exists(tokenizerPath) ? ReadTokenizer(tokenizerPath, model.Variant) : null;
            return new GemmaInt8Conversion(checkpoint, model, config, hfArchitecture, tokenizerKeys);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The Hugging Face config.json fields of the variant, from gemma_pytorch's <c>get_model_config</c> and the
    /// published HF configs (context length, sliding window, rope scaling, soft-capping), so the Gemma adapters
    /// write the same keys they would for the HF release of the model.
    /// </summary>
    internal static (string HfArchitecture, HfConfig Config) ConfigOf(GemmaVariant v)
    {
        var fields = new Dictionary<string, object>
        {
            ["hidden_size"] = v.Hidden,
            ["num_hidden_layers"] = v.Layers,
            ["intermediate_size"] = v.Intermediate,
            ["num_attention_heads"] = v.Heads,
            ["num_key_value_heads"] = v.KvHeads,
            ["head_dim"] = v.HeadDim,
            ["rms_norm_eps"] = 1e-6,
            ["vocab_size"] = v.Vocab,
        };
        string architecture;
        switch (v.Generation)
        {
            case GemmaGeneration.Gemma1:
                architecture = "GemmaForCausalLM";
                fields["max_position_embeddings"] = 8192;
                break;
            case GemmaGeneration.Gemma2:
                architecture = "Gemma2ForCausalLM";
                fields["max_position_embeddings"] = 8192;
                fields["attn_logit_softcapping"] = 50.0;
                fields["final_logit_softcapping"] = 30.0;
                fields["sliding_window"] = 4096;
                break;
            default:
                architecture = "Gemma3ForCausalLM";
                // gemma_pytorch: the 1b has a 512 window and no rope scaling; larger ones 1024 and linear ×8.
                var small = v.Hidden <= 1152;
                fields["max_position_embeddings"] = small ? 32768 : 131072;
                fields["sliding_window"] = small ? 512 : 1024;
                fields["rope_theta"] = 1_000_000.0;
                if (!small)
                {
                    fields["rope_scaling"] = new Dictionary<string, object> { ["rope_type"] = "linear", ["factor"] = 8.0 };
                }
                break;
        }
        fields["architectures"] = new[] { architecture };
        fields["_name_or_path"] = "gemma-" + v.Name;
        return (architecture, HfConfig.Parse(JsonSerializer.Serialize(fields), $"gemma_pytorch variant {v.Name}"));
    }

    static IReadOnlyList<KeyValuePair<string, GgufValue>> ReadTokenizer(string path, GemmaVariant variant)
    {
        var family = variant.Generation switch
        {
            GemmaGeneration.Gemma1 => TokenizerFamily.Gemma,
            GemmaGeneration.Gemma2 => TokenizerFamily.Gemma2,
            _ => TokenizerFamily.Gemma3,
        };
        // The import reads <dir>/tokenizer.model; gemma_pytorch ships Gemma 3's as gemma3_cleaned_*.spiece.model,
        // so a differently named file is read through a private copy under the expected name.
        if (Path.GetFileName(path) == "tokenizer.model")
        {
            return TokenizerImport.Read(Path.GetDirectoryName(Path.GetFullPath(path))!, family, variant.Vocab);
        }
        var directory = Directory.CreateTempSubdirectory("quanta-tokenizer-");
        try
        {
            File.Copy(path, Path.Combine(directory.FullName, "tokenizer.model"));
            return TokenizerImport.Read(directory.FullName, family, variant.Vocab);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The metadata for <paramref name="fileType"/>, in the order <see cref="ConvertedModel.CreateMetadata"/> uses.</summary>
    public GgufMetadata CreateMetadata(uint fileType)
    {
        var metadata = new GgufMetadata();
        metadata.Add(GgufKeys.Architecture, GgufValue.String(Adapter.Architecture));
        metadata.Add("general.type", GgufValue.String("model"));
        metadata.Add(GgufKeys.Name, GgufValue.String(ModelNaming.IdToTitle("gemma-" + Model.Variant.Name)));
        if (ParameterCount > 0)
        {
            metadata.Add("general.size_label", GgufValue.String(ModelNaming.SizeLabel(ParameterCount)));
        }
        Adapter.WriteParameters(new ConversionContext(Config, HfArchitecture), metadata, fileType);
        foreach (var (key, value) in TokenizerKeys ?? [])
        {
            metadata.Replace(key, value);
        }
        metadata.Set(GgufKeys.QuantizationVersion, GgufValue.UInt32(2));
        return metadata;
    }

    /// <summary>
    /// Rows and tensors that cannot go to <paramref name="type"/> losslessly and are re-encoded from float32:
    /// for Q8_0, matrices whose row length is not a multiple of 32 and rows whose scaler is not an fp16 value.
    /// </summary>
    public (long Rows, int Tensors) LossyRows(IEnumerable<string> tensorsAsQ8_0)
    {
        var wanted = tensorsAsQ8_0.ToHashSet(StringComparer.Ordinal);
        long rows = 0;
        var tensors = 0;
        foreach (var t in Tensors.Where(t => t.Matrix is not null && wanted.Contains(t.Info.Name)))
        {
            var n = t.LossyQ8_0Rows;
            rows += n;
            tensors += n > 0 ? 1 : 0;
        }
        return (rows, tensors);
    }

    /// <summary>
    /// What a job over this checkpoint loses or leaves out, one warning a line: tensors of other towers not
    /// converted, and Q8_0 rows re-encoded from float32 because their scaler has no exact fp16 form.
    /// </summary>
    public IReadOnlyList<string> Warnings(QuantizationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var warnings = new List<string>();
        if (Model.Unmapped.Count > 0)
        {
            warnings.Add($"{Model.Unmapped.Count} tensor(s) of other towers are not converted (first: '{Model.Unmapped[0]}'); only the text model is");
        }
        var (lossyRows, lossyTensors) = LossyRows(job.Plan.Entries.Where(e => e.TargetType == GgmlType.Q8_0).Select(e => e.Name));
        if (lossyRows > 0)
        {
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{lossyRows} row(s) in {lossyTensors} tensor(s) have a scaler with no exact fp16 form (or rows not a multiple of 32); they are re-encoded to Q8_0 from float32, the rest keep their int8 values"));
        }
        return warnings;
    }

    /// <summary>Norms (PyTorch vectors) stay float32; matrices take the output type, as <see cref="ConverterTypeRules"/> says.</summary>
    public IEnumerable<(GgufTensorInfo Info, TensorTypeDecision Decision)> ConverterDecisions(ConverterOutputType type) =>
        Tensors.Select(t => (t.Info, ConverterTypeRules.Choose(t.Info, t.Dimensions, type)));

    public ITensorSource AsSource(GgufMetadata metadata) => new Source(this, metadata);

    /// <summary>A preset quantizes the float32 values (<c>int8 · scaler</c>); the int8 shortcut applies only to the converter's Q8_0.</summary>
    ITensorSource IConvertedModel.AsPresetSource(GgufMetadata metadata) => AsSource(metadata);

    sealed class Source(GemmaInt8Conversion conversion, GgufMetadata metadata) : ITensorSource
    {
        public GgufMetadata Metadata { get; } = metadata;

        public IReadOnlyList<ISourceTensor> Tensors => conversion.Tensors;

        public IReadOnlyList<string> FilePaths => [conversion._checkpoint.Path];
    }

    public void Dispose() => _checkpoint.Dispose();
}

/// <summary>
/// One tensor of a <see cref="GemmaInt8Conversion"/> for the pipeline: float32 rows on <see cref="Read"/>, and for
/// Q8_0 the checkpoint's own int8 values with the row's scaler as every block's scale.
/// </summary>
public sealed class GemmaInt8SourceTensor : ISourceTensor
{
    readonly GemmaInt8Tensor _tensor;
    readonly Lazy<long> _lossyRows;

    internal GemmaInt8SourceTensor(GemmaInt8Tensor tensor)
    {
        _tensor = tensor;
        Info = new GgufTensorInfo(tensor.Name, tensor.Shape, GgmlType.F32);
        _lossyRows = new(() =>
        {
            var m = tensor.Matrix!;
            if (m.Columns % 32 != 0)
            {
                return m.Rows;
            }
            long n = 0;
            for (var r = 0; r < m.Rows; r++)
            {
                n += GemmaInt8Rows.FitsFp16(m.Scaler(r)) ? 0 : 1;
            }
            return n;
        });
    }

    public GgufTensorInfo Info { get; }

    /// <summary>The int8 matrix, or null for a norm.</summary>
    public GemmaInt8Matrix? Matrix => _tensor.Matrix;

    /// <summary>PyTorch's <c>n_dims</c>: norms are vectors and stay float32 in the converter's types.</summary>
    public int Dimensions => _tensor.Matrix is null ? 1 : 2;

    public int ShardIndex => 0;

    public long FileOffset => 0;

    /// <summary>The type the checkpoint holds the tensor in, for reports: <c>i8</c> (with a per-row scaler) or the norm's float type.</summary>
    public string StoredType => _tensor.Matrix is not null ? "i8" : _tensor.Vector!.DType switch
    {
        PyTorchDType.BFloat16 => "bf16",
        PyTorchDType.Float16 => "f16",
        _ => "f32",
    };

    /// <summary>Bytes the checkpoint holds for the tensor: the int8 values and their row scalers, or the norm.</summary>
    public long StoredBytes => _tensor.Matrix is { } m ? ((long)m.Rows * m.Columns) + ((long)m.Rows * m.ScalerDType.ElementSize()) : _tensor.Vector!.ByteSize;

    /// <summary>Rows whose scaler has no exact fp16 form (all rows when the row length is not a multiple of 32).</summary>
    public long LossyQ8_0Rows => _tensor.Matrix is null ? 0 : _lossyRows.Value;

    public void Read(long start, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start > Info.ByteSize - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"bytes {start}..{start + destination.Length} lie outside tensor '{Info.Name}'");
        }
        var rowBytes = (long)_tensor.RowLength * sizeof(float);
        if (start % rowBytes == 0 && destination.Length % rowBytes == 0)
        {
            _tensor.ReadFloat32((int)(start / rowBytes), (int)(destination.Length / rowBytes), MemoryMarshal.Cast<byte, float>(destination));
            return;
        }
        // A range that cuts rows (never asked for by the pipeline): row by row through a buffer.
        var buffer = ArrayPool<float>.Shared.Rent(_tensor.RowLength);
        try
        {
            var done = 0;
            while (done < destination.Length)
            {
                var at = start + done;
                var row = (int)(at / rowBytes);
                var within = (int)(at % rowBytes);
                _tensor.ReadFloat32(row, 1, buffer.AsSpan(0, _tensor.RowLength));
                var n = (int)Math.Min(rowBytes - within, destination.Length - done);
                MemoryMarshal.AsBytes(buffer.AsSpan(0, _tensor.RowLength)).Slice(within, n).CopyTo(destination[done..]);
                done += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Q8_0 straight from the checkpoint: a row whose scaler fits fp16 is its int8 values under that scale, bit for
    /// bit; any other row is encoded from its float32 values by the same Q8_0 codec the pipeline would use.
    /// </summary>
    public bool TryReadEncoded(GgmlType type, long firstRow, long rowCount, Span<byte> destination)
    {
        if (type != GgmlType.Q8_0 || _tensor.Matrix is not { } m || m.Columns % 32 != 0)
        {
            return false;
        }
        var rowBytes = m.Columns / 32 * 34;
        float[]? floats = null;
        for (var r = 0; r < rowCount; r++)
        {
            var row = (int)(firstRow + r);
            var target = destination.Slice(r * rowBytes, rowBytes);
            if (!GemmaInt8Rows.TryEncodeQ8_0(m.Quants(row), m.Scaler(row), target))
            {
                floats ??= new float[m.Columns];
                m.Dequantize(row, 1, floats);
                BlockCodecs.Get(GgmlType.Q8_0).Encode(floats, m.Columns, default, target);
            }
        }
        return true;
    }

    public override string ToString() => Info.ToString();
}
