namespace Quanta.Formats.Gguf;

/// <summary>
/// A GGUF model opened read-only: one file, or a split set (<c>name-00001-of-00003.gguf</c>) opened from any
/// of its shards. The header is validated once, at open; tensor bytes are read straight from the memory
/// mapping, without copies.
/// </summary>
public sealed class GgufFile : ITensorSource, IDisposable
{
    readonly GgufShard[] _shards;
    readonly Dictionary<string, GgufTensor> _byName;

    GgufFile(string path, GgufShard[] shards)
    {
        Path = path;
        _shards = shards;
        var tensors = new List<GgufTensor>();
        _byName = new Dictionary<string, GgufTensor>(StringComparer.Ordinal);
        for (var s = 0; s < shards.Length; s++)
        {
            var shard = shards[s];
            foreach (var info in shard.Header.Tensors)
            {
                var tensor = new GgufTensor(info, shard) { ShardIndex = s };
                if (!_byName.TryAdd(info.Name, tensor))
                {
                    throw new GgufFormatException(shard.Path, -1, $"tensor '{info.Name}' appears in more than one shard");
                }
                tensors.Add(tensor);
            }
        }
        Tensors = tensors;
    }

    /// <summary>The path the file was opened with (for a split set, the first shard).</summary>
    public string Path { get; }

    /// <summary>GGUF version of the (first) file: 2 or 3.</summary>
    public int Version => _shards[0].Header.Version;

    /// <summary>The model's metadata; for a split set, the first shard's, which holds all keys.</summary>
    public GgufMetadata Metadata => _shards[0].Header.Metadata;

    /// <summary>All tensors, in file order, shard after shard.</summary>
    public IReadOnlyList<GgufTensor> Tensors { get; }

    IReadOnlyList<ISourceTensor> ITensorSource.Tensors => Tensors;

    /// <summary>Data alignment of the (first) file.</summary>
    public int Alignment => _shards[0].Header.Alignment;

    /// <summary>Paths of the files that make up the model: one, or every shard in order.</summary>
    public IReadOnlyList<string> FilePaths => [.. _shards.Select(s => s.Path)];

    /// <summary>Bytes on disk, all shards together.</summary>
    public long FileSize => _shards.Sum(s => s.Length);


    public bool IsSplit => _shards.Length > 1;

    public GgufTensor? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Opens a GGUF file. A shard of a split set opens the whole set, whichever shard is named.
    /// Throws <see cref="GgufFormatException"/> for anything that is not a valid GGUF file.
    /// </summary>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var first = GgufShard.Open(path);
        try
        {
            var splitCount = SplitCount(first);
            if (splitCount <= 1)
            {
                return new GgufFile(path, [first]);
            }
            return OpenSplitSet(first, splitCount);
        }
        catch
        {
            first.Dispose();
            throw;
        }
    }

    /// <summary>Parses a GGUF held in memory (tests, fuzzing); <paramref name="name"/> appears in errors.</summary>
    internal static GgufFile FromBytes(byte[] bytes, string name = "<memory>")
    {
        var shard = GgufShard.FromBytes(bytes, name);
        try
        {
            return new GgufFile(name, [shard]);
        }
        catch
        {
            shard.Dispose();
            throw;
        }
    }

    static GgufFile OpenSplitSet(GgufShard opened, int count)
    {
        if (!GgufSplitNames.TryParse(opened.Path, out var prefix, out var number, out var countInName) || countInName != count)
        {
            throw new GgufFormatException(opened.Path, -1,
                $"this is shard {SplitNumber(opened) + 1} of a {count}-file split set, but its name does not end in -NNNNN-of-{count:D5}.gguf, so the other shards cannot be found");
        }
        var shards = new GgufShard[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                var shard = i + 1 == number ? opened : GgufShard.Open(GgufSplitNames.ShardPath(prefix, i + 1, count));
                shards[i] = shard;
                CheckShard(shard, i, count);
            }
            var expected = shards[0].Header.Metadata.TryGetValue(GgufKeys.SplitTensorsCount, out var total) && total.Type == GgufValueType.Int32
                ? total.AsInt32()
                : throw new GgufFormatException(shards[0].Path, -1, $"{GgufKeys.SplitTensorsCount} is missing or not i32");
            var actual = shards.Sum(s => s.Header.Tensors.Count);
            if (actual != expected)
            {
                throw new GgufFormatException(shards[0].Path, -1, $"the split set holds {actual} tensors but {GgufKeys.SplitTensorsCount} says {expected}");
            }
            return new GgufFile(shards[0].Path, shards);
        }
        catch
        {
            foreach (var shard in shards)
            {
                if (shard is not null && shard != opened)
                {
                    shard.Dispose();
                }
            }
            throw;
        }
    }

    static void CheckShard(GgufShard shard, int index, int count)
    {
        if (SplitCount(shard) != count || SplitNumber(shard) != index)
        {
            throw new GgufFormatException(shard.Path, -1,
                $"expected shard {index + 1} of {count}, but its {GgufKeys.SplitNumber}/{GgufKeys.SplitCount} say {SplitNumber(shard) + 1} of {SplitCount(shard)}");
        }
    }

    static int SplitCount(GgufShard shard) => ReadSplitKey(shard, GgufKeys.SplitCount, 1);

    static int SplitNumber(GgufShard shard) => ReadSplitKey(shard, GgufKeys.SplitNumber, 0);

    static int ReadSplitKey(GgufShard shard, string key, int absent)
    {
        if (!shard.Header.Metadata.TryGetValue(key, out var value))
        {
            return absent;
        }
        // llama.cpp reads split.no and split.count as u16.
        return value.Type == GgufValueType.UInt16
            ? value.AsUInt16()
            : throw new GgufFormatException(shard.Path, -1, $"{key} has type {GgufValueTypes.Name(value.Type)}; expected u16");
    }

    public void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }
}
