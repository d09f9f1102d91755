namespace Quanta.Formats.PyTorch;

/// <summary>
/// A tensor of an open <see cref="PyTorchCheckpoint"/>: its name in the state dict, dtype, shape and strides
/// (in elements, as PyTorch counts them), and zero-copy access to its storage bytes. Spans stay valid while the
/// checkpoint is open.
/// </summary>
public sealed unsafe class PyTorchTensor
{
    readonly PyTorchCheckpoint _owner;
    readonly long[] _shape;
    readonly long[] _strides;
    readonly long _storageStart;

    internal PyTorchTensor(PyTorchCheckpoint owner, string name, PickleTensor tensor)
    {
        _owner = owner;
        Name = name;
        DType = tensor.Storage.DType;
        _shape = tensor.Shape;
        _strides = tensor.Strides;
        StorageKey = tensor.Storage.Key;
        StorageOffset = tensor.StorageOffset;
        StorageElementCount = tensor.Storage.ElementCount;
        _storageStart = tensor.Storage.Member.DataOffset;
        long count = 1;
        foreach (var d in _shape)
        {
            count = checked(count * d);
        }
        ElementCount = count;
    }

    public string Name { get; }

    public PyTorchDType DType { get; }

    public IReadOnlyList<long> Shape => _shape;

    /// <summary>Strides in elements, PyTorch's convention.</summary>
    public IReadOnlyList<long> Strides => _strides;

    /// <summary>The <c>archive/data/&lt;key&gt;</c> member that holds the storage.</summary>
    public string StorageKey { get; }

    /// <summary>Offset of the first element in the storage, in elements.</summary>
    public long StorageOffset { get; }

    public long StorageElementCount { get; }

    public long ElementCount { get; }

    public int ElementSize => DType.ElementSize();

    public long ByteSize => ElementCount * ElementSize;

    /// <summary>True when the elements lie in row-major order, back to back (what state dicts hold).</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var i = _shape.Length - 1; i >= 0; i--)
            {
                if (_shape[i] != 1 && _strides[i] != expected)
                {
                    return false;
                }
                expected *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>The whole storage this tensor views (possibly shared with other tensors).</summary>
    public ReadOnlySpan<byte> StorageBytes => Bytes(0, StorageElementCount * ElementSize);

    /// <summary>The tensor's bytes, row-major. Only for contiguous tensors of at most 2 GiB; see <see cref="Slice"/>.</summary>
    public ReadOnlySpan<byte> Data
    {
        get
        {
            RequireContiguous();
            return ByteSize <= int.MaxValue
                ? Slice(0, (int)ByteSize)
                : throw new InvalidOperationException($"tensor '{Name}' is {ByteSize} bytes, more than one span can hold; read it with Slice");
        }
    }

    /// <summary><paramref name="length"/> bytes from <paramref name="start"/> within a contiguous tensor.</summary>
    public ReadOnlySpan<byte> Slice(long start, int length)
    {
        RequireContiguous();
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (start > ByteSize - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"bytes {start}..{start + length} lie outside tensor '{Name}' ({ByteSize} bytes)");
        }
        return Bytes((StorageOffset * ElementSize) + start, length);
    }

    /// <summary>Copies the elements in row-major order, whatever the strides; <paramref name="destination"/> holds <see cref="ByteSize"/> bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < ByteSize)
        {
            throw new ArgumentException($"destination holds {destination.Length} bytes; tensor '{Name}' has {ByteSize}", nameof(destination));
        }
        if (IsContiguous)
        {
            Data.CopyTo(destination);
            return;
        }
        var storage = StorageBytes;
        var size = ElementSize;
        var index = new long[_shape.Length];
        for (long e = 0; e < ElementCount; e++)
        {
            var source = StorageOffset;
            for (var d = 0; d < index.Length; d++)
            {
                source += index[d] * _strides[d];
            }
            storage.Slice((int)(source * size), size).CopyTo(destination[(int)(e * size)..]);
            for (var d = index.Length - 1; d >= 0; d--)
            {
                if (++index[d] < _shape[d])
                {
                    break;
                }
                index[d] = 0;
            }
        }
    }

    void RequireContiguous()
    {
        if (!IsContiguous)
        {
            throw new InvalidOperationException($"tensor '{Name}' is a strided view; copy it with CopyTo");
        }
    }

    ReadOnlySpan<byte> Bytes(long offset, long length)
    {
        if (length > int.MaxValue)
        {
            throw new InvalidOperationException($"storage of '{Name}' is {length} bytes, more than one span can hold");
        }
        return _owner.Bytes(_storageStart + offset, (int)length);
    }

    public override string ToString() => $"{Name} {DType} [{string.Join(", ", _shape)}]";
}
