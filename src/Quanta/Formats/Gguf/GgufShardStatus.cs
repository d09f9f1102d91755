using System.Globalization;
using System.Text.RegularExpressions;

namespace Quanta.Formats.Gguf;

/// <summary>What <see cref="GgufShardStatus.Check"/> found for one shard file.</summary>
public enum ShardState
{
    /// <summary>The file is there, its header parses, it says it is this shard of this set, and it is as long as its header needs.</summary>
    Ok,

    /// <summary>No file by that name (its task has not finished, or never ran).</summary>
    Missing,

    /// <summary>A file is there but is not a complete shard: truncated, another set's, or not a GGUF file.</summary>
    Incomplete,
}

/// <summary>One shard of a set: its file, 1-based number, state and, unless ok, why.</summary>
public sealed record ShardCheck(string Path, int Number, int Count, ShardState State, string? Problem);

/// <summary>
/// Checks a split set written by many tasks (<c>--shard I/N</c>) before anything loads it: every shard
/// <c>PREFIX-0000I-of-0000N.gguf</c> present, its header readable, its <c>split.no</c> and <c>split.count</c>
/// its name's, and the file as long as its tensors need. Reads headers only.
/// </summary>
public static partial class GgufShardStatus
{
    [GeneratedRegex(@"-\d{5}-of-(?<count>\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex CountPattern();

    /// <summary>
    /// Checks the shards of <paramref name="prefixOrPath"/> (<c>out/model</c>, <c>out/model.gguf</c> or any one
    /// shard's name). <paramref name="count"/> is the number of shards expected; null takes it from the shard
    /// files present.
    /// </summary>
    /// <exception cref="FileNotFoundException">No count was given and no shard of the prefix exists.</exception>
    /// <exception cref="ArgumentException">No count was given and files of sets with different counts exist.</exception>
    public static IReadOnlyList<ShardCheck> Check(string prefixOrPath, int? count = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefixOrPath);
        var prefix = GgufSplit.PrefixOf(prefixOrPath);
        if (count is null)
        {
            var counts = CountsPresent(prefix);
            count = counts.Count switch
            {
                0 => throw new FileNotFoundException($"no shard {prefix}-NNNNN-of-NNNNN.gguf found; give the number of shards to list the missing ones", prefix),
                1 => counts[0],
                _ => throw new ArgumentException($"shards of {counts.Count} different sets are present ({string.Join(", ", counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"of-{c:D5}")))}); give the number of shards"),
            };
        }
        if (count is < 1 or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"a set has 1 to {ushort.MaxValue} shards, not {count}");
        }
        var n = count.Value;
        return [.. Enumerable.Range(1, n).Select(i => CheckOne(GgufSplitNames.ShardPath(prefix, i, n), i, n))];
    }

    static List<int> CountsPresent(string prefix)
    {
        var full = Path.GetFullPath(prefix);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var name = Path.GetFileName(full);
        return [.. Directory.EnumerateFiles(directory, name + "-*-of-*.gguf")
            .Select(p => Path.GetFileName(p))
            .Where(f => f.Length == name.Length + 20 && GgufSplitNames.TryParse(f, out var p, out _, out _) && p == name)
            .Select(f => int.Parse(CountPattern().Match(f).Groups["count"].Value, CultureInfo.InvariantCulture))
            .Distinct()
            .Order()];
    }

    static ShardCheck CheckOne(string path, int number, int count)
    {
        if (!File.Exists(path))
        {
            return new(path, number, count, ShardState.Missing, null);
        }
        try
        {
            using var shard = GgufShard.Open(path);
            var header = shard.Header;
            var metadata = header.Metadata;
            if (Problem(metadata, number, count) is { } problem)
            {
                return new(path, number, count, ShardState.Incomplete, problem);
            }
            // Both gguf-split and Quanta pad the last tensor too, so a complete shard ends on the padding.
            var needed = header.DataOffset + (header.Tensors.Count == 0 ? 0 : header.Tensors.Max(t => t.Offset + GgufWriter.Pad(t.ByteSize, header.Alignment)));
            if (shard.Length < needed)
            {
                return new(path, number, count, ShardState.Incomplete, $"{shard.Length} bytes where its header needs {needed} (truncated)");
            }
            return new(path, number, count, ShardState.Ok, null);
        }
        catch (GgufFormatException e)
        {
            return new(path, number, count, ShardState.Incomplete, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(path, number, count, ShardState.Incomplete, $"cannot be read: {e.Message}");
        }
    }

    static string? Problem(GgufMetadata metadata, int number, int count)
    {
        if (!metadata.TryGetValue(GgufKeys.SplitNumber, out var no) || no.Type != GgufValueType.UInt16
            || !metadata.TryGetValue(GgufKeys.SplitCount, out var total) || total.Type != GgufValueType.UInt16
            || !metadata.TryGetValue(GgufKeys.SplitTensorsCount, out var tensors) || tensors.Type != GgufValueType.Int32)
        {
            return "no split.no, split.count and split.tensors.count keys as gguf-split writes them";
        }
        if (no.AsUInt16() != number - 1 || total.AsUInt16() != count)
        {
            return string.Create(CultureInfo.InvariantCulture, $"its keys say shard {no.AsUInt16() + 1} of {total.AsUInt16()}");
        }
        return null;
    }
}
