namespace Quanta.Formats.Safetensors;

/// <summary>
/// One tensor of a safetensors file: name, element type, shape in PyTorch order (outermost first, the
/// opposite of GGUF) and where its bytes lie.
/// </summary>
public sealed unsafe class SafetensorsTensor
{
    readonly SafetensorsFile _file;

    internal SafetensorsTensor(SafetensorsFile file, string name, SafetensorsDType type, long[] shape, long dataStart, long byteSize)
    {
        _file = file;
        Name = name;
        Type = type;
        Shape = shape;
        DataStart = dataStart;
        ByteSize = byteSize;
        ElementCount = byteSize / SafetensorsDTypes.Size(type);
    }

    public string Name { get; }

    public SafetensorsDType Type { get; }

    /// <summary>Dimensions, outermost first (<c>[rows, columns]</c> for a matrix); empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    public long ElementCount { get; }

    public long ByteSize { get; }

    /// <summary>The file that holds the bytes.</summary>
    public string FilePath => _file.Path;

    /// <summary>Absolute offset of the first byte in <see cref="FilePath"/>.</summary>
    public long FileOffset => _file.DataOffset + DataStart;

    /// <summary>Offset from the start of the data section (the header's <c>data_offsets[0]</c>).</summary>
    public long DataStart { get; }

    /// <summary>The bytes through the memory mapping (at most 2 GiB; use <see cref="Read"/> beyond).</summary>
    public ReadOnlySpan<byte> Data => ByteSize <= int.MaxValue
        ? _file.Span(FileOffset, (int)ByteSize)
        : throw new InvalidOperationException($"tensor '{Name}' is {ByteSize} bytes, more than one span can hold; read it with Read");

    /// <summary>
    /// Copies bytes from <paramref name="start"/> within the tensor with a positioned read (not through the
    /// mapping, so that streaming a checkpoint does not keep it all resident). Thread-safe.
    /// </summary>
    public void Read(long start, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start > ByteSize - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"bytes {start}..{start + destination.Length} lie outside tensor '{Name}' ({ByteSize} bytes)");
        }
        _file.Read(FileOffset + start, destination);
    }

    /// <summary>Reads elements [<paramref name="firstElement"/>, + destination.Length) as float32.</summary>
    public void ReadFloats(long firstElement, Span<float> destination, Span<byte> scratch)
    {
        var size = SafetensorsDTypes.Size(Type);
        var bytes = scratch[..(destination.Length * size)];
        Read(firstElement * size, bytes);
        SafetensorsDTypes.ToFloat(Type, bytes, destination);
    }

    public override string ToString() => $"{Name} {SafetensorsDTypes.Name(Type)} [{string.Join(", ", Shape)}]";
}
