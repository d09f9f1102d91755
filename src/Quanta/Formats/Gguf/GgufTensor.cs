namespace Quanta.Formats.Gguf;

/// <summary>A tensor of an open <see cref="GgufFile"/>: its header entry and zero-copy access to its bytes.</summary>
public sealed unsafe class GgufTensor
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

    public override string ToString() => Info.ToString();
}
