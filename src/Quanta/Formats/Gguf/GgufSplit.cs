namespace Quanta.Formats.Gguf;

/// <summary>How <see cref="GgufSplit.Split"/> cuts a model into shards.</summary>
public sealed class GgufSplitOptions
{
    /// <summary>gguf-split's default: 128 tensors per shard, when neither limit is given.</summary>
    public const int DefaultMaxTensors = 128;

    /// <summary>At most this many tensors per shard (gguf-split <c>--split-max-tensors</c>).</summary>
    public int? MaxTensorsPerShard { get; init; }

    /// <summary>
    /// At most this many tensor bytes per shard, each tensor counted padded to 32 bytes, metadata not
    /// counted (gguf-split <c>--split-max-size</c>; its M and G are 10^6 and 10^9). A tensor larger than the
    /// limit gets a shard to itself.
    /// </summary>
    public long? MaxBytesPerShard { get; init; }

    /// <summary>The first shard holds only the metadata (gguf-split <c>--no-tensor-first-split</c>).</summary>
    public bool NoTensorsInFirstShard { get; init; }

    /// <summary>Protected inputs, cancellation and buffering for every shard.</summary>
    public GgufWriterOptions? Writer { get; init; }
}

/// <summary>
/// Splits a model into <c>PREFIX-00001-of-0000N.gguf</c> shards and merges them back, as llama.cpp's
/// gguf-split does. Every shard is a complete GGUF file with its own tensor infos and offsets. Both
/// operations are atomic as far as a file system allows: every output is written to a temporary file first,
/// and the renames happen only once all of them are complete.
/// </summary>
public static class GgufSplit
{
    /// <summary>
    /// Writes the shards of <paramref name="input"/> and returns their paths. <paramref name="outputPrefixOrPath"/>
    /// is the prefix (<c>out/model</c>) or a path ending in <c>.gguf</c>, which is dropped as llama-quantize
    /// <c>--keep-split</c> does. The first shard carries all the metadata, then <c>split.no</c> (u16, 0-based),
    /// <c>split.tensors.count</c> (i32) and <c>split.count</c> (u16); the others only those three keys.
    /// </summary>
    public static IReadOnlyList<string> Split(GgufFile input, string outputPrefixOrPath, GgufSplitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(outputPrefixOrPath);
        options ??= new GgufSplitOptions();
        if (options.MaxTensorsPerShard is not null && options.MaxBytesPerShard is not null)
        {
            // gguf-split refuses both too: the tensor rule counts tensors over the whole model, not per shard.
            throw new ArgumentException("give a maximum number of tensors or a maximum size per shard, not both", nameof(options));
        }
        if (options.MaxTensorsPerShard is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxTensorsPerShard is {options.MaxTensorsPerShard}; it must be positive");
        }
        if (options.MaxBytesPerShard is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxBytesPerShard is {options.MaxBytesPerShard}; it must be positive");
        }

        var shards = Plan(input.Tensors, options);
        if (shards.Count > ushort.MaxValue)
        {
            throw new ArgumentException($"the model would be cut into {shards.Count} shards; split.count is a u16 and the file names allow 65535 at most", nameof(options));
        }
        var prefix = Prefix(outputPrefixOrPath);
        var paths = Enumerable.Range(0, shards.Count).Select(i => System.IO.Path.GetFullPath(GgufSplitNames.ShardPath(prefix, i + 1, shards.Count))).ToArray();
        var totalTensors = input.Tensors.Count;
        // Every target is checked before the first file is created, and renamed only once all are complete.
        using var files = new GgufFileSet(paths, GgufWriter.ProtectingSource(input, options.Writer));
        for (var i = 0; i < shards.Count; i++)
        {
            var metadata = i == 0 ? new GgufMetadata(input.Metadata) : new GgufMetadata();
            AddSplitKeys(metadata, i, shards.Count, totalTensors);

            var writer = files.Create(i, metadata, [.. shards[i].Select(t => t.Info)]);
            foreach (var tensor in shards[i])
            {
                writer.WriteTensor(tensor);
            }
            files.Finish(i);
        }
        files.Commit();
        return paths;
    }

    /// <summary>
    /// Writes a split set (opened from any shard) as one file, without the <c>split.*</c> keys, so the
    /// result is what a plain copy of the unsplit model gives. A single file is copied the same way.
    /// </summary>
    public static void Merge(GgufFile splitSet, string outputPath, GgufWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(splitSet);
        var metadata = new GgufMetadata(splitSet.Metadata);
        RemoveSplitKeys(metadata);
        GgufWriter.Copy(splitSet, metadata, outputPath, options);
    }

    /// <summary>Which tensors go to which shard, following gguf-split's rules.</summary>
    internal static List<List<GgufTensor>> Plan(IReadOnlyList<GgufTensor> tensors, GgufSplitOptions options) =>
        Plan(tensors, t => t.ByteSize, options);

    /// <summary>
    /// Cuts a list of tensors into shards by gguf-split's rules, given each tensor's byte size as it will be
    /// written: the quantizer splits its output before the bytes exist.
    /// </summary>
    internal static List<List<T>> Plan<T>(IReadOnlyList<T> tensors, Func<T, long> byteSize, GgufSplitOptions options)
    {
        var shards = new List<List<T>> { new() };
        if (options.NoTensorsInFirstShard)
        {
            shards.Add([]);
        }
        var maxTensors = options.MaxBytesPerShard is null ? options.MaxTensorsPerShard ?? GgufSplitOptions.DefaultMaxTensors : (int?)null;
        long shardBytes = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            // gguf-split counts every tensor padded to GGUF_DEFAULT_ALIGNMENT, whatever the file's alignment.
            var bytes = GgufWriter.Pad(byteSize(tensors[i]), GgufKeys.DefaultAlignment);
            var current = shards[^1];
            var cut = maxTensors is { } n
                ? i > 0 && i % n == 0
                // gguf-split would leave a shard empty (and stop with an error) when a tensor alone is over the
                // limit; a shard of its own is the useful answer.
                : shardBytes + bytes > options.MaxBytesPerShard && current.Count > 0;
            if (cut)
            {
                shards.Add([]);
                shardBytes = 0;
            }
            shards[^1].Add(tensors[i]);
            shardBytes += bytes;
        }
        return shards;
    }

    /// <summary>
    /// Adds the split keys to one shard's metadata as gguf-split does: it sets split.count twice (a
    /// placeholder, then the real count) with gguf_set_val, which moves a key to the end, so the order is
    /// split.no, split.tensors.count, split.count.
    /// </summary>
    internal static void AddSplitKeys(GgufMetadata metadata, int index, int count, int totalTensors)
    {
        metadata.Set(GgufKeys.SplitNumber, GgufValue.UInt16((ushort)index));
        metadata.Set(GgufKeys.SplitCount, GgufValue.UInt16(0));
        metadata.Set(GgufKeys.SplitTensorsCount, GgufValue.Int32(totalTensors));
        metadata.Set(GgufKeys.SplitCount, GgufValue.UInt16((ushort)count));
    }

    /// <summary>The shard file name prefix for an output path: a <c>.gguf</c> ending is dropped.</summary>
    public static string PrefixOf(string outputPrefixOrPath) => Prefix(outputPrefixOrPath);

    internal static void RemoveSplitKeys(GgufMetadata metadata)
    {
        metadata.Remove(GgufKeys.SplitNumber);
        metadata.Remove(GgufKeys.SplitCount);
        metadata.Remove(GgufKeys.SplitTensorsCount);
    }

    static string Prefix(string outputPrefixOrPath)
    {
        if (GgufSplitNames.TryParse(outputPrefixOrPath, out var prefix, out _, out _))
        {
            return prefix;
        }
        return outputPrefixOrPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? outputPrefixOrPath[..^".gguf".Length] : outputPrefixOrPath;
    }
}
