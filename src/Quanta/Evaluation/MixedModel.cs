using Quanta.Formats.Gguf;

namespace Quanta.Evaluation;

/// <summary>
/// A model that is the base except for one block, whose tensors come from a candidate: what
/// <c>eval --per-layer</c> scores to say how much that block's quantization alone costs.
/// </summary>
public static class MixedModel
{
    /// <summary>Writes the base's metadata and tensors, block <paramref name="layer"/>'s taken from <paramref name="candidate"/> where it has them.</summary>
    public static void Write(GgufFile baseFile, GgufFile candidate, int layer, string path, CancellationToken cancellationToken = default)
    {
        var prefix = $"blk.{layer}.";
        Write(baseFile, candidate, name => name.StartsWith(prefix, StringComparison.Ordinal), path, cancellationToken);
    }

    /// <summary>Writes the base's metadata and tensors, those <paramref name="fromCandidate"/> names taken from <paramref name="candidate"/> where it has them.</summary>
    public static void Write(GgufFile baseFile, GgufFile candidate, Func<string, bool> fromCandidate, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseFile);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(fromCandidate);
        var sources = baseFile.Tensors
            .Select(t => fromCandidate(t.Name) && candidate.FindTensor(t.Name) is { } c && c.Info.ElementCount == t.Info.ElementCount ? c : t)
            .ToArray();
        var infos = sources.Select((s, i) => new GgufTensorInfo(baseFile.Tensors[i].Name, baseFile.Tensors[i].Shape, s.Type)).ToArray();
        using var writer = GgufWriter.Create(path, new GgufMetadata(baseFile.Metadata), infos, new GgufWriterOptions { CancellationToken = cancellationToken, FlushToDisk = false });
        foreach (var source in sources)
        {
            writer.WriteTensor(source);
        }
        writer.Commit();
    }
}
