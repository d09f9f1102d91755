using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Inference.Vision;

/// <summary>One line of <see cref="VisionSweep"/>: a component stored in a type, its size, and how well the path still sees.</summary>
public sealed record VisionSweepRow(string Component, GgmlType Type, long Bytes, double LowestSimilarity, VisionVerdict Verdict, int KeptTensors);

/// <summary>
/// The per-component policy, measured: the vision tower's matrices (<c>v.*</c>) and then the projector's (<c>mm.*</c>)
/// re-encoded to each of F16, Q8_0, Q6_K and Q4_K (the other component as it is), each variant checked against the
/// file as it is on the built-in test patterns (<see cref="VisionCheck"/>). A matrix whose rows do not split into the
/// type's blocks keeps its type (counted in <see cref="VisionSweepRow.KeptTensors"/>), as llama.cpp's quantizer keeps
/// what it cannot convert; embeddings, norms and biases always stay.
/// </summary>
public static class VisionSweep
{
    public static IReadOnlyList<GgmlType> Types { get; } = [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q6_K, GgmlType.Q4_K];

    public static IReadOnlyList<string> Components { get; } = ["tower", "projector"];

    /// <summary>Sweeps <paramref name="baseline"/> (a projector file or a single gemma3 file), writing each variant in <paramref name="scratchDirectory"/> (deleted after).</summary>
    public static IReadOnlyList<VisionSweepRow> Run(GgufFile baseline, string scratchDirectory, int threads = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        using var baseModel = VisionModel.Open(baseline, threads);
        var pictures = VisionCheck.Images([]);
        var rows = new List<VisionSweepRow>();
        foreach (var component in Components)
        {
            foreach (var type in Types)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var path = Path.Combine(scratchDirectory, $"quanta-sweep-{Guid.NewGuid():N}.gguf");
                try
                {
                    var (bytes, kept) = WriteVariant(baseline, path, component, type);
                    double lowest = 1;
                    var finite = true;
                    using (var file = GgufFile.Open(path))
                    using (var model = VisionModel.Open(file, threads))
                    {
                        foreach (var (name, picture) in pictures)
                        {
                            var check = VisionCheck.Compare(name, picture, baseModel, model, null, cancellationToken);
                            finite &= check.Tower.IsFinite && check.Projected.IsFinite;
                            lowest = Math.Min(lowest, Math.Min(check.Tower.Cosine, check.Projected.Cosine));
                        }
                    }
                    rows.Add(new VisionSweepRow(component, type, bytes, lowest, VisionCheck.VerdictOf(lowest, finite), kept));
                }
                finally
                {
                    File.Delete(path);
                }
            }
        }
        return rows;
    }

    static bool InComponent(string name, string component) =>
        component == "projector" ? name.StartsWith("mm.", StringComparison.Ordinal) : name.StartsWith("v.", StringComparison.Ordinal);

    // The component's 2-D matrices, not the patch kernel (4-D) or the embedding tables.
    static bool IsMatrix(GgufTensor t) =>
        t.Shape.Count == 2 && t.Name.EndsWith(".weight", StringComparison.Ordinal) && !t.Name.Contains("embd", StringComparison.Ordinal)
        && !t.Name.Contains("embedding", StringComparison.Ordinal);

    static (long Bytes, int Kept) WriteVariant(GgufFile source, string path, string component, GgmlType type)
    {
        var block = GgmlTypeInfo.Of(type).BlockElements;
        var infos = new List<GgufTensorInfo>();
        var convert = new bool[source.Tensors.Count];
        var kept = 0;
        long bytes = 0;
        for (var i = 0; i < source.Tensors.Count; i++)
        {
            var t = source.Tensors[i];
            var candidate = InComponent(t.Name, component) && IsMatrix(t);
            convert[i] = candidate && t.Shape[0] % block == 0;
            kept += candidate && !convert[i] ? 1 : 0;
            var info = convert[i] ? new GgufTensorInfo(t.Name, t.Shape, type) : new GgufTensorInfo(t.Name, t.Shape, t.Type);
            infos.Add(info);
            bytes += InComponent(t.Name, component) ? info.ByteSize : 0;
        }
        using var writer = GgufWriter.Create(path, source.Metadata, infos, new GgufWriterOptions { FlushToDisk = false });
        for (var i = 0; i < source.Tensors.Count; i++)
        {
            var t = source.Tensors[i];
            if (!convert[i])
            {
                writer.WriteTensorData(t.Data);
                continue;
            }
            var values = new float[t.Info.ElementCount];
            BlockCodecs.Get(t.Type).Decode(t.Data, values);
            var encoded = new byte[infos[i].ByteSize];
            BlockCodecs.Get(type).Encode(values, (int)t.Info.RowLength, [], encoded);
            writer.WriteTensorData(encoded);
        }
        writer.Commit();
        return (bytes, kept);
    }
}
