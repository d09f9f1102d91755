using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands;

/// <summary>One file of a model as inspect shows it: a single GGUF, or one shard of a split set.</summary>
internal sealed record ModelFileEntry(string Path, long Size, int Tensors);

/// <summary>
/// The figures inspect reports, computed once and shared by the human and the JSON output so the two can
/// never disagree.
/// </summary>
internal sealed record ModelSummary(
    string? Architecture,
    string? Name,
    long? FileType,
    IReadOnlyList<ModelFileEntry> Files,
    IReadOnlyList<TensorTypeTotals> TypeTotals,
    long ParameterCount,
    long TensorBytes)
{
    /// <summary>Bits per weight over all tensors; null for a file without tensors (a vocabulary-only GGUF).</summary>
    public double? BitsPerWeight => ParameterCount == 0 ? null : 8.0 * TensorBytes / ParameterCount;

    public static ModelSummary From(GgufFile model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var totals = TensorTypeTotals.ByType(model.Tensors.Select(t => t.Info));
        var (_, elements, bytes) = TensorTypeTotals.Sum(totals);
        var tensorsPerFile = model.Tensors.GroupBy(t => t.FilePath, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var files = model.FilePaths
            .Select(path => new ModelFileEntry(path, Quanta.Formats.FileLength.Of(path), tensorsPerFile.GetValueOrDefault(path)))
            .ToList();
        return new ModelSummary(
            TextOf(model.Metadata, GgufKeys.Architecture),
            TextOf(model.Metadata, GgufKeys.Name),
            model.Metadata.LenientInteger(GgufKeys.FileType),
            files,
            totals,
            elements,
            bytes);
    }

    // inspect is the tool for looking at broken files too, so a key of an unexpected type is shown as it is
    // rather than refused the way a loader must refuse it.
    static string? TextOf(GgufMetadata metadata, string key) =>
        metadata.TryGetValue(key, out var value) ? value.ToString() : null;
}
