namespace Quanta.Formats.Gguf;

/// <summary>How many tensors, elements and bytes of one ggml type a model holds.</summary>
public sealed record TensorTypeTotals(GgmlType Type, int Tensors, long Elements, long Bytes)
{
    /// <summary>Bits per element on disk, scales included; 0 for a type with no elements.</summary>
    public double BitsPerWeight => Elements == 0 ? 0 : 8.0 * Bytes / Elements;

    /// <summary>
    /// Totals per type, in ggml id order so that the same model always lists its types the same way.
    /// </summary>
    public static IReadOnlyList<TensorTypeTotals> ByType(IEnumerable<GgufTensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return [.. tensors
            .GroupBy(t => t.Type)
            .OrderBy(g => (int)g.Key)
            .Select(g => new TensorTypeTotals(g.Key, g.Count(), g.Sum(t => t.ElementCount), g.Sum(t => t.ByteSize)))];
    }

    /// <summary>All types together.</summary>
    public static (int Tensors, long Elements, long Bytes) Sum(IEnumerable<TensorTypeTotals> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        int tensors = 0;
        long elements = 0, bytes = 0;
        foreach (var t in totals)
        {
            tensors += t.Tensors;
            elements += t.Elements;
            bytes += t.Bytes;
        }
        return (tensors, elements, bytes);
    }
}
