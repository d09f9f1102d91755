using System.Runtime.InteropServices;
using Quanta.Formats.Gguf;

namespace Quanta.Formats.Imatrix;

/// <summary>
/// An importance matrix as llama-imatrix (tools/imatrix/imatrix.cpp, 2026) holds it: per weight the sums of
/// squared activations and the token counts (<see cref="ImportanceMatrixEntry"/>), the calibration files it was
/// computed on, and its chunk count and size. It is what the GGUF imatrix stores, so that format reads and
/// writes it as it is (<see cref="ReadGguf"/>, <see cref="WriteGguf"/>); the legacy <c>.dat</c>
/// (<see cref="ImatrixDatFile"/>) stores means scaled by call counts instead and converts both ways as
/// llama-imatrix converts it (<see cref="FromDat"/>, <see cref="ToDat"/>). Entries are kept sorted by name, the
/// order llama-imatrix writes them in.
/// </summary>
public sealed class ImportanceMatrix
{
    /// <summary>The <c>general.type</c> of a GGUF imatrix.</summary>
    public const string GgufType = "imatrix";

    /// <summary>GGUF key: the calibration files' names (array of strings), oldest first.</summary>
    public const string DatasetsKey = "imatrix.datasets";

    /// <summary>GGUF key (u32): how many chunks of calibration text the sums cover.</summary>
    public const string ChunkCountKey = "imatrix.chunk_count";

    /// <summary>GGUF key (u32): tokens per chunk.</summary>
    public const string ChunkSizeKey = "imatrix.chunk_size";

    const string SquaredSumsSuffix = ".in_sum2";
    const string CountsSuffix = ".counts";
    const string SumsSuffix = ".in_sum";

    readonly SortedDictionary<string, ImportanceMatrixEntry> _entries = new(StringComparer.Ordinal);

    /// <param name="chunkSize">Tokens per chunk (llama-imatrix's <c>-c</c>): the unit that turns token counts into chunk and call counts.</param>
    public ImportanceMatrix(int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ChunkSize = chunkSize;
    }

    public int ChunkSize { get; }

    /// <summary>Chunks of calibration text behind the sums (<c>imatrix.chunk_count</c>; the legacy file's last call).</summary>
    public int ChunkCount { get; set; }

    /// <summary>The calibration files, in the order they were used.</summary>
    public List<string> Datasets { get; } = [];

    public IReadOnlyCollection<ImportanceMatrixEntry> Entries => _entries.Values;

    public int Count => _entries.Count;

    public ImportanceMatrixEntry? Find(string name) => _entries.GetValueOrDefault(name);

    /// <summary>Adds an entry, or throws when one by that name exists.</summary>
    public void Add(ImportanceMatrixEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_entries.TryAdd(entry.Name, entry))
        {
            throw new ArgumentException($"the matrix already has an entry '{entry.Name}'", nameof(entry));
        }
    }

    /// <summary>The entry called <paramref name="name"/>, created empty with this shape on first use.</summary>
    /// <exception cref="ImatrixFormatException">An entry by that name has another shape (llama-imatrix's "inconsistent size").</exception>
    public ImportanceMatrixEntry GetOrAdd(string name, int columns, int matrices = 1)
    {
        if (_entries.TryGetValue(name, out var entry))
        {
            if (entry.Columns != columns || entry.MatrixCount != matrices)
            {
                throw new ImatrixFormatException($"inconsistent size for {name} ({entry.Columns} × {entry.MatrixCount} vs {columns} × {matrices})");
            }
            return entry;
        }
        entry = ImportanceMatrixEntry.Empty(name, columns, matrices);
        _entries.Add(name, entry);
        return entry;
    }

    /// <summary>
    /// Adds <paramref name="other"/>'s sums, counts and calls into this matrix and appends its datasets, as
    /// llama-imatrix does with each <c>--in-file</c>: the merged means are the count-weighted means of the
    /// inputs. The chunk count becomes the largest count over the chunk size.
    /// </summary>
    /// <exception cref="ImatrixFormatException">An entry has another shape here than there.</exception>
    public void Merge(ImportanceMatrix other, string? otherName = null)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var incoming in other.Entries)
        {
            AddInto(incoming, otherName);
        }
        Datasets.AddRange(other.Datasets);
        ChunkCount = (int)(LargestCount() / ChunkSize);
    }

    void AddInto(ImportanceMatrixEntry incoming, string? sourceName)
    {
        if (!_entries.TryGetValue(incoming.Name, out var entry))
        {
            _entries.Add(incoming.Name, Copy(incoming));
            return;
        }
        if (entry.SquaredSums.Length != incoming.SquaredSums.Length)
        {
            throw new ImatrixFormatException($"{sourceName ?? "the matrix"}: mismatched sums size for {incoming.Name}: {incoming.SquaredSums.Length} != {entry.SquaredSums.Length}");
        }
        var counts = entry.Counts;
        if (counts.Length == 1 && incoming.Counts.Length > 1)
        {
            // A legacy entry has one count for all experts: broadcast it, as llama-imatrix does.
            counts = [.. Enumerable.Repeat(counts[0], incoming.Counts.Length)];
        }
        else if (counts.Length != incoming.Counts.Length)
        {
            throw new ImatrixFormatException($"{sourceName ?? "the matrix"}: mismatched counts size for {incoming.Name}: {incoming.Counts.Length} != {counts.Length}");
        }
        // Plain sums survive only when both sides have them.
        var sums = entry.Sums is not null && incoming.Sums is not null ? entry.Sums : null;
        for (var j = 0; j < entry.SquaredSums.Length; j++)
        {
            entry.SquaredSums[j] += incoming.SquaredSums[j];
            if (sums is not null)
            {
                sums[j] += incoming.Sums![j];
            }
        }
        for (var j = 0; j < counts.Length; j++)
        {
            counts[j] += incoming.Counts[j];
        }
        _entries[incoming.Name] = new ImportanceMatrixEntry(entry.Name, entry.SquaredSums, counts, sums, entry.Calls + incoming.Calls);
    }

    /// <summary>The largest token count of any matrix of any entry.</summary>
    public long LargestCount() => _entries.Values.SelectMany(e => e.Counts).DefaultIfEmpty(0).Max();

    static ImportanceMatrixEntry Copy(ImportanceMatrixEntry e) =>
        new(e.Name, [.. e.SquaredSums], [.. e.Counts], e.Sums is null ? null : [.. e.Sums], e.Calls);

    /// <summary>Reads a GGUF imatrix, or a legacy <c>.dat</c> converted with <see cref="FromDat"/>.</summary>
    /// <exception cref="ImatrixFormatException">The file is neither, or is damaged.</exception>
    public static ImportanceMatrix Load(string path, int chunkSize)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ImatrixDatFile.IsGguf(path) ? ReadGguf(path) : FromDat(ImatrixDatFile.Read(path), chunkSize);
    }

    /// <summary>
    /// A legacy file's entries as sums and counts, as llama-imatrix's <c>load_imatrix_legacy</c> recreates them:
    /// each value times the chunk size (the file does not store it, so the caller's <c>-c</c> stands in), each
    /// count <c>ncall</c> chunks of tokens. The call counts are kept, so <see cref="ToDat"/> writes them back.
    /// </summary>
    public static ImportanceMatrix FromDat(ImatrixDatFile file, int chunkSize)
    {
        ArgumentNullException.ThrowIfNull(file);
        var matrix = new ImportanceMatrix(chunkSize);
        foreach (var e in file.Entries)
        {
            var squared = new float[e.Values.Length];
            for (var i = 0; i < squared.Length; i++)
            {
                squared[i] = e.Values[i] * chunkSize;
            }
            // A name written twice adds up, as llama-imatrix's loader does.
            matrix.AddInto(new ImportanceMatrixEntry(e.Name, squared, [(long)e.Calls * chunkSize], null, e.Calls), null);
        }
        if (file.LastCall is not null)
        {
            matrix.Datasets.Add(file.Dataset ?? "");
        }
        matrix.ChunkCount = (int)(matrix.LargestCount() / chunkSize);
        return matrix;
    }

    /// <summary>
    /// The legacy file llama-imatrix (February 2025) writes for this matrix: per entry its call count (or, when
    /// unknown, the chunks its largest count spans, rounded up, as the 2026 writer does) and
    /// <c>sum / count · ncall</c> per column. Entries with a matrix that saw no data are left out, as that writer
    /// does (<paramref name="skipped"/> names them). The last call is the largest call count written; the dataset
    /// is the last calibration file.
    /// </summary>
    public ImatrixDatFile ToDat(out IReadOnlyList<string> skipped)
    {
        var entries = new List<ImatrixDatEntry>(_entries.Count);
        var left = new List<string>();
        var lastCall = 0;
        foreach (var e in _entries.Values)
        {
            if (e.IsPartial)
            {
                left.Add(e.Name);
                continue;
            }
            var calls = e.Calls > 0 ? e.Calls : (int)((e.Counts.Max() + ChunkSize - 1) / ChunkSize);
            var columns = e.Columns;
            var values = new float[e.SquaredSums.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = e.SquaredSums[i] / e.Counts[i / columns] * calls;
            }
            entries.Add(new ImatrixDatEntry(e.Name, calls, values));
            lastCall = Math.Max(lastCall, calls);
        }
        skipped = left;
        if (_entries.Values.All(e => e.Calls == 0))
        {
            lastCall = ChunkCount;
        }
        return new ImatrixDatFile(entries, lastCall, Datasets.Count > 0 ? Datasets[^1] : "");
    }

    /// <summary>Reads a GGUF imatrix (<c>*.in_sum2</c>, <c>*.counts</c> and optional <c>*.in_sum</c> tensors; other tensors are ignored).</summary>
    /// <exception cref="ImatrixFormatException">Sums without counts, sizes that disagree, a tensor not F32.</exception>
    public static ImportanceMatrix ReadGguf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = GgufFile.Open(path);
        var metadata = file.Metadata;
        var chunkSize = metadata.LenientInteger(ChunkSizeKey) is { } size and > 0 and <= int.MaxValue ? (int)size : 512;
        var matrix = new ImportanceMatrix(chunkSize)
        {
            ChunkCount = metadata.LenientInteger(ChunkCountKey) is { } chunks and >= 0 and <= int.MaxValue ? (int)chunks : 0,
        };
        if (metadata.TryGetValue(DatasetsKey, out var datasets) && datasets.Type == GgufValueType.Array && datasets.AsArray().ElementType == GgufValueType.String)
        {
            matrix.Datasets.AddRange(datasets.AsArray().As<string>());
        }
        var parts = new SortedDictionary<string, (GgufTensor? Squared, GgufTensor? Counts, GgufTensor? Sums)>(StringComparer.Ordinal);
        foreach (var tensor in file.Tensors)
        {
            var name = tensor.Name;
            if (name.EndsWith(SquaredSumsSuffix, StringComparison.Ordinal))
            {
                var key = name[..^SquaredSumsSuffix.Length];
                parts[key] = parts.GetValueOrDefault(key) with { Squared = tensor };
            }
            else if (name.EndsWith(CountsSuffix, StringComparison.Ordinal))
            {
                var key = name[..^CountsSuffix.Length];
                parts[key] = parts.GetValueOrDefault(key) with { Counts = tensor };
            }
            else if (name.EndsWith(SumsSuffix, StringComparison.Ordinal))
            {
                var key = name[..^SumsSuffix.Length];
                parts[key] = parts.GetValueOrDefault(key) with { Sums = tensor };
            }
        }
        if (parts.Count == 0)
        {
            throw new ImatrixFormatException(path, -1, "no data in the file (no *.in_sum2 / *.counts tensors)");
        }
        foreach (var (name, (squared, counts, sums)) in parts)
        {
            if (squared is null || counts is null || (sums is not null && sums.Info.ElementCount != squared.Info.ElementCount))
            {
                throw new ImatrixFormatException(path, -1, $"mismatched sums and counts for {name}");
            }
            var squaredValues = Floats(path, squared);
            var countValues = Floats(path, counts);
            if (countValues.Length == 0 || squaredValues.Length == 0 || squaredValues.Length % countValues.Length != 0)
            {
                throw new ImatrixFormatException(path, -1, $"{name}: {squaredValues.Length} sums cannot be shared by {countValues.Length} counts");
            }
            var integerCounts = new long[countValues.Length];
            for (var i = 0; i < countValues.Length; i++)
            {
                if (!float.IsFinite(countValues[i]) || countValues[i] < 0)
                {
                    throw new ImatrixFormatException(path, -1, $"{name}: count {i} is {countValues[i]}");
                }
                // llama.cpp rounds the stored float to the nearest integer (std::lround).
                integerCounts[i] = (long)Math.Round(countValues[i], MidpointRounding.AwayFromZero);
            }
            matrix.Add(new ImportanceMatrixEntry(name, squaredValues, integerCounts, sums is null ? null : Floats(path, sums)));
        }
        return matrix;
    }

    static float[] Floats(string path, GgufTensor tensor)
    {
        if (tensor.Type != GgmlType.F32)
        {
            throw new ImatrixFormatException(path, -1, $"tensor '{tensor.Name}' is {GgmlTypeInfo.Of(tensor.Type).Name}; an imatrix holds F32 tensors");
        }
        return MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();
    }

    /// <summary>
    /// The GGUF metadata llama-imatrix writes: <c>general.type</c>, the datasets, the chunk count and size, in
    /// that order.
    /// </summary>
    public GgufMetadata GgufMetadata()
    {
        var metadata = new GgufMetadata();
        metadata.Set("general.type", GgufValue.String(GgufType));
        metadata.Set(DatasetsKey, GgufValue.Array(GgufArray.Of([.. Datasets])));
        metadata.Set(ChunkCountKey, GgufValue.UInt32((uint)ChunkCount));
        metadata.Set(ChunkSizeKey, GgufValue.UInt32((uint)ChunkSize));
        return metadata;
    }

    /// <summary>
    /// Writes the GGUF imatrix atomically: per entry, in name order, <c>NAME.in_sum2</c> (<c>[columns, matrices]</c>),
    /// <c>NAME.counts</c> (<c>[1, matrices]</c>, float) and, when the plain sums are known, <c>NAME.in_sum</c>.
    /// </summary>
    public void WriteGguf(string path, GgufWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var tensors = new List<(GgufTensorInfo Info, float[] Data)>();
        foreach (var e in _entries.Values)
        {
            tensors.Add((new GgufTensorInfo(e.Name + SquaredSumsSuffix, [e.Columns, e.MatrixCount], GgmlType.F32), e.SquaredSums));
            tensors.Add((new GgufTensorInfo(e.Name + CountsSuffix, [1, e.MatrixCount], GgmlType.F32), [.. e.Counts.Select(c => (float)c)]));
            if (e.Sums is not null)
            {
                tensors.Add((new GgufTensorInfo(e.Name + SumsSuffix, [e.Columns, e.MatrixCount], GgmlType.F32), e.Sums));
            }
        }
        using var writer = GgufWriter.Create(path, GgufMetadata(), [.. tensors.Select(t => t.Info)], options);
        foreach (var (_, data) in tensors)
        {
            writer.WriteTensorData(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        writer.Commit();
    }
}
