namespace Quanta.Formats.Gguf;

/// <summary>
/// A tensor's entry in a GGUF header: name, shape in GGUF order (row length first), element type and the
/// offset of its bytes from the start of the data section.
/// </summary>
public sealed class GgufTensorInfo
{
    /// <summary>ggml's GGML_MAX_NAME is 64 including the terminating NUL.</summary>
    public const int MaxNameBytes = 63;

    /// <summary>ggml tensors have at most 4 dimensions (GGML_MAX_DIMS).</summary>
    public const int MaxDimensions = 4;

    public GgufTensorInfo(string name, IReadOnlyList<long> shape, GgmlType type, long offset = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count is 0 or > MaxDimensions)
        {
            throw new ArgumentException($"tensor '{name}' has {shape.Count} dimensions; 1 to {MaxDimensions} are allowed", nameof(shape));
        }
        Name = name;
        Shape = [.. shape];
        Type = type;
        Offset = offset;
        ElementCount = CheckedElementCount(Shape) ?? throw new ArgumentException($"tensor '{name}' has a negative dimension or too many elements", nameof(shape));
        if (Shape[0] % GgmlTypeInfo.Of(type).BlockElements != 0)
        {
            throw new ArgumentException($"tensor '{name}': row length {Shape[0]} is not a multiple of the {GgmlTypeInfo.Of(type).Name} block size {GgmlTypeInfo.Of(type).BlockElements}", nameof(shape));
        }
        ByteSize = CheckedByteSize(Shape, type) ?? throw new ArgumentException($"tensor '{name}' is larger than a file can hold", nameof(shape));
    }

    public string Name { get; }

    /// <summary>Dimensions, innermost (row length, ggml's ne[0]) first.</summary>
    public IReadOnlyList<long> Shape { get; }

    public GgmlType Type { get; }

    /// <summary>Offset of the data from the start of the data section.</summary>
    public long Offset { get; }

    public long ElementCount { get; }

    public long ByteSize { get; }

    /// <summary>Elements per row (ne[0]).</summary>
    public long RowLength => Shape[0];

    /// <summary>Number of rows: every dimension but the first, multiplied.</summary>
    public long RowCount => RowLength == 0 ? 0 : ElementCount / RowLength;

    /// <summary>The same tensor at another offset.</summary>
    public GgufTensorInfo WithOffset(long offset) => new(Name, Shape, Type, offset);

    /// <summary>The same tensor as another type (bytes and offset then need recomputing by the writer).</summary>
    public GgufTensorInfo WithType(GgmlType type) => new(Name, Shape, type, 0);

    /// <summary>Product of the dimensions, or null when a dimension is negative or the product overflows int64.</summary>
    public static long? CheckedElementCount(IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (var n in shape)
        {
            if (n < 0)
            {
                return null;
            }
            if (n != 0 && count > long.MaxValue / n)
            {
                return null;
            }
            count *= n;
        }
        return count;
    }

    /// <summary>
    /// Bytes of a tensor of this shape and type, or null when that overflows int64. The row length must be a
    /// whole number of blocks.
    /// </summary>
    public static long? CheckedByteSize(IReadOnlyList<long> shape, GgmlType type)
    {
        var count = CheckedElementCount(shape);
        if (count is null)
        {
            return null;
        }
        if (shape[0] == 0)
        {
            return 0;
        }
        var info = GgmlTypeInfo.Of(type);
        var blocksPerRow = shape[0] / info.BlockElements;
        if (blocksPerRow > long.MaxValue / info.BlockBytes)
        {
            return null;
        }
        var rowBytes = blocksPerRow * info.BlockBytes;
        var rows = count.Value / shape[0];
        return rows > long.MaxValue / Math.Max(rowBytes, 1) ? null : rows * rowBytes;
    }

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] {GgmlTypeInfo.Of(Type).Name}";
}
