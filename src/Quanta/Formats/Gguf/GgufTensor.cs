namespace Quanta.Formats.Gguf;

/// <summary>A tensor of an open <see cref="GgufFile"/>: its header entry and zero-copy access to its bytes.</summary>
public sealed unsafe class GgufTensor : ISourceTensor
{
    readonly GgufShard _shard;

    internal GgufTensor(GgufTensorInfo info, GgufShard shard)
    {
        Info = info;
        _shard = shard;
    }

    public GgufTensorInfo Info { get; }

    public string Name => Info.Name;

    public GgmlType Type => Info.Type;

    public IReadOnlyList<long> Shape => Info.Shape;

    public long ByteSize => Info.ByteSize;

    /// <summary>Path of the file (or shard) that holds the bytes.</summary>
    public string FilePath => _shard.Path;

    /// <summary>Absolute offset of the first byte in <see cref="FilePath"/>.</summary>
    public long FileOffset => _shard.DataOffset + Info.Offset;

    /// <summary>
    /// The whole tensor as one span. Spans are limited to 2 GiB; use <see cref="Slice"/> for bigger tensors
    /// (an F32 embedding of a 128k vocabulary is larger).
    /// </summary>
    public ReadOnlySpan<byte> Data => ByteSize <= int.MaxValue
        ? Slice(0, (int)ByteSize)
        : throw new InvalidOperationException($"tensor '{Name}' is {ByteSize} bytes, more than one span can hold; read it with Slice");

    /// <summary>Has the OS map the tensor's pages now rather than fault them in one by one (<see cref="GgufMemory.Prefault"/>).</summary>
    internal void Prefault() => _shard.Memory.Prefault(FileOffset, ByteSize);

    /// <summary><paramref name="length"/> bytes from <paramref name="start"/> within the tensor.</summary>
    public ReadOnlySpan<byte> Slice(long start, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (start > ByteSize - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"bytes {start}..{start + length} lie outside tensor '{Name}' ({ByteSize} bytes)");
        }
        _shard.ThrowIfDisposed();
        return new ReadOnlySpan<byte>(_shard.Memory.Pointer + FileOffset + start, length);
    }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length bytes from <paramref name="start"/> within the tensor, with a
    /// positioned read rather than through the memory mapping, so that streaming a whole model does not leave
    /// every page of it in the process's resident set. Thread-safe.
    /// </summary>
    public void Read(long start, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start > ByteSize - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"bytes {start}..{start + destination.Length} lie outside tensor '{Name}' ({ByteSize} bytes)");
        }
        _shard.Read(FileOffset + start, destination);
    }

    /// <summary>
    /// Slice <paramref name="index"/> of the outermost dimension as a tensor of its own (<c>name[index]</c>, one
    /// dimension fewer, the same mapped bytes): one expert's matrix of a <c>[columns, rows, experts]</c> MoE tensor.
    /// </summary>
    public GgufTensor Slab(int index)
    {
        var count = Shape[^1];
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        if (Shape.Count < 2)
        {
            throw new InvalidOperationException($"tensor '{Name}' has one dimension; it has no slabs");
        }
        var bytes = ByteSize / count;
        var info = new GgufTensorInfo($"{Name}[{index}]", [.. Shape.Take(Shape.Count - 1)], Type, Info.Offset + (index * bytes));
        return new GgufTensor(info, _shard) { ShardIndex = ShardIndex };
    }

    /// <summary>Which file of a split set holds the tensor: 0 for the first (or only) file.</summary>
    internal int ShardIndex { get; init; }

    int ISourceTensor.ShardIndex => ShardIndex;

    public override string ToString() => Info.ToString();
}
