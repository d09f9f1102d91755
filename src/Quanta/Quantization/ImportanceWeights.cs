using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;

namespace Quanta.Quantization;

/// <summary>
/// An importance matrix as llama-quantize uses it (<c>load_imatrix</c> and <c>prepare_imatrix</c> in
/// tools/quantize/quantize.cpp, 2026): per weight name, one weight per input column (per expert after each
/// other for <c>*_exps</c>), the mean squared activation: <c>in_sum2 / count</c> from a GGUF imatrix (1 where a
/// matrix has no data), <c>value / ncall</c> from a legacy <c>.dat</c>; plus what goes into the output's
/// <c>quantize.imatrix.*</c> keys. <see cref="Filter"/> applies <c>--include-weights</c> /
/// <c>--exclude-weights</c>.
/// </summary>
public sealed class ImportanceWeights
{
    /// <summary>The output's metadata keys, as llama-quantize names them.</summary>
    public const string FileKey = "quantize.imatrix.file";

    public const string DatasetKey = "quantize.imatrix.dataset";

    public const string EntriesCountKey = "quantize.imatrix.entries_count";

    public const string ChunksCountKey = "quantize.imatrix.chunks_count";

    readonly Dictionary<string, float[]> _weights;

    public ImportanceWeights(string file, IReadOnlyDictionary<string, float[]> weights, IReadOnlyList<string> datasets, int chunkCount)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(datasets);
        foreach (var (name, values) in weights)
        {
            // llama_model_quantize_impl checks every value before it starts.
            if (values.FirstOrDefault(v => !float.IsFinite(v), 0f) is var bad && !float.IsFinite(bad))
            {
                throw new QuantizationException($"imatrix contains non-finite value {bad} (in '{name}' of {file})");
            }
        }
        File = file;
        _weights = new Dictionary<string, float[]>(weights, StringComparer.Ordinal);
        Datasets = [.. datasets];
        ChunkCount = chunkCount;
    }

    /// <summary>The path given to <c>--imatrix</c>, as given.</summary>
    public string File { get; }

    public IReadOnlyList<string> Datasets { get; }

    /// <summary>Chunks the matrix was computed on (0 when the file does not say).</summary>
    public int ChunkCount { get; }

    public int Count => _weights.Count;

    public IEnumerable<string> Names => _weights.Keys;

    /// <summary>The weights for the tensor called <paramref name="name"/> in the input model, or null.</summary>
    public float[]? Find(string name) => _weights.GetValueOrDefault(name);

    /// <summary>Reads a GGUF imatrix or a legacy <c>.dat</c>, as llama-quantize does.</summary>
    /// <exception cref="ImatrixFormatException">The file is damaged or has no data.</exception>
    public static ImportanceWeights Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (ImatrixDatFile.IsGguf(path))
        {
            var matrix = ImportanceMatrix.ReadGguf(path);
            if (!HasImatrixKeys(path))
            {
                throw new ImatrixFormatException(path, -1, "missing imatrix metadata (imatrix.* keys)");
            }
            foreach (var entry in matrix.Entries)
            {
                var columns = entry.Columns;
                var values = new float[entry.SquaredSums.Length];
                for (var m = 0; m < entry.MatrixCount; m++)
                {
                    var count = (float)entry.Counts[m];
                    for (var i = 0; i < columns; i++)
                    {
                        values[m * columns + i] = count > 0 ? entry.SquaredSums[m * columns + i] / count : 1f;
                    }
                }
                weights[entry.Name] = values;
            }
            return new ImportanceWeights(path, weights, matrix.Datasets, matrix.ChunkCount);
        }
        var dat = ImatrixDatFile.Read(path);
        foreach (var entry in dat.Entries)
        {
            var values = (float[])entry.Values.Clone();
            if (entry.Calls > 0)
            {
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] /= entry.Calls;
                }
            }
            weights[entry.Name] = values;
        }
        return new ImportanceWeights(path, weights, dat.Dataset is { Length: > 0 } d ? [d] : [], dat.LastCall ?? 0);
    }

    static bool HasImatrixKeys(string path)
    {
        using var file = GgufFile.Open(path);
        return file.Metadata.Keys.Any(k => k.StartsWith("imatrix.", StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>--exclude-weights</c>: entries whose name contains any of <paramref name="excluded"/> are dropped;
    /// <c>--include-weights</c>: only entries whose name contains one of <paramref name="included"/> are kept.
    /// llama-quantize refuses both at once.
    /// </summary>
    public ImportanceWeights Filter(IReadOnlyList<string> included, IReadOnlyList<string> excluded)
    {
        ArgumentNullException.ThrowIfNull(included);
        ArgumentNullException.ThrowIfNull(excluded);
        if (included.Count > 0 && excluded.Count > 0)
        {
            throw new QuantizationException("--include-weights and --exclude-weights cannot be used together");
        }
        var kept = _weights
            .Where(e => !excluded.Any(x => e.Key.Contains(x, StringComparison.Ordinal)))
            .Where(e => included.Count == 0 || included.Any(x => e.Key.Contains(x, StringComparison.Ordinal)))
            .ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        return new ImportanceWeights(File, kept, Datasets, ChunkCount);
    }

    /// <summary>
    /// The keys llama-quantize adds (after any <c>--override-kv</c>): the file, the first dataset, the entry
    /// count and, when known, the chunk count; strings cut to 127 bytes as its fixed buffers cut them, integers
    /// as u32 (the 2026 writer; February 2025 wrote i32).
    /// </summary>
    public IEnumerable<KeyValuePair<string, GgufValue>> MetadataKeys()
    {
        yield return new(FileKey, GgufValue.String(Truncate(File)));
        if (Datasets.Count > 0)
        {
            yield return new(DatasetKey, GgufValue.String(Truncate(Datasets[0])));
        }
        yield return new(EntriesCountKey, GgufValue.UInt32((uint)Count));
        if (ChunkCount > 0)
        {
            yield return new(ChunksCountKey, GgufValue.UInt32((uint)ChunkCount));
        }
    }

    static string Truncate(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Length <= MetadataOverride.MaxStringBytes ? text : Encoding.UTF8.GetString(bytes, 0, MetadataOverride.MaxStringBytes);
    }
}
