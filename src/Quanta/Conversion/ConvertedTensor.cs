using System.Buffers;
using System.Runtime.InteropServices;
using Quanta.Conversion.Gptq;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;

namespace Quanta.Conversion;

/// <summary>
/// A GGUF tensor made from a checkpoint tensor, seen as float32: rows are read, converted to float32 exactly
/// (as the converter's <c>.to(torch.float32)</c>), permuted and shifted on demand, so a model of any size
/// streams through the quantization pipeline a chunk at a time. Tensors the converter generates
/// (<c>rope_freqs</c>, Phi-3's rope factors) are held as float32 values.
/// </summary>
public sealed class ConvertedTensor : ISourceTensor
{
    readonly SafetensorsTensor? _source;
    readonly float[]? _values;
    readonly int _shardIndex;
    Lazy<PackedInt4Linear>? _packed;
    long _packedOffset;
    long _packedBytes;
    readonly Dictionary<GgmlType, bool> _lossless = [];

    ConvertedTensor(GgufTensorInfo info, int dimensions, SafetensorsTensor? source, float[]? values, TensorMapping mapping, int shardIndex)
    {
        Info = info;
        Dimensions = dimensions;
        _source = source;
        _values = values;
        Mapping = mapping;
        _shardIndex = shardIndex;
    }

    public GgufTensorInfo Info { get; }

    /// <summary>Dimensions as the converter sees them (PyTorch's <c>n_dims</c>): 1-D tensors stay float32.</summary>
    public int Dimensions { get; }

    public TensorMapping Mapping { get; }

    /// <summary>The checkpoint tensor it comes from; null for generated tensors.</summary>
    public SafetensorsTensor? Source => _source;

    public int ShardIndex => _shardIndex;

    public long FileOffset => _source?.FileOffset ?? _packedOffset;

    /// <summary>The GPTQ/AWQ layer the rows are unpacked from; null for other tensors.</summary>
    public PackedInt4Linear? PackedLayer => _packed?.Value;

    /// <summary>
    /// The element type the checkpoint holds the tensor in (<c>bf16</c>, <c>f16</c>, <c>f32</c>; <c>int4</c> for a
    /// GPTQ/AWQ layer; <c>f32</c> for one the converter generates), for reports: the pipeline reads every tensor
    /// as float32, which is not what the user gave it.
    /// </summary>
    public string StoredType => _source is { } s ? s.Type.ToString().ToLowerInvariant() : _packed is not null ? "int4" : "f32";

    /// <summary>
    /// Bytes the checkpoint holds for the tensor (the rows kept, for an embedding cut to the vocabulary); for a
    /// GPTQ/AWQ layer its packed codes, zeros, scales and group indices.
    /// </summary>
    public long StoredBytes => _source is { } s ? Info.ElementCount * SafetensorsDTypes.Size(s.Type) : _packed is not null ? _packedBytes : Info.ByteSize;

    /// <summary>A checkpoint tensor under its GGUF name, transformed as <paramref name="mapping"/> says.</summary>
    public static ConvertedTensor FromCheckpoint(SafetensorsTensor source, TensorMapping mapping, int shardIndex)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(mapping);
        var torchShape = source.Shape.Count == 0 ? [1L] : source.Shape.ToArray();
        if (torchShape.Length > GgufTensorInfo.MaxDimensions)
        {
            throw new ConversionException($"tensor '{source.Name}' has {torchShape.Length} dimensions; GGUF allows {GgufTensorInfo.MaxDimensions}");
        }
        if (mapping.KeepRows is { } keep)
        {
            if (keep > torchShape[0])
            {
                throw new ConversionException($"tensor '{source.Name}' has {torchShape[0]} rows; cannot keep {keep}");
            }
            torchShape[0] = keep;
        }
        if (mapping.PermuteHeads is { } heads)
        {
            var rows = torchShape[0];
            if (heads <= 0 || rows % heads != 0 || rows / heads % 2 != 0)
            {
                throw new ConversionException($"tensor '{source.Name}': {rows} rows cannot be split into {heads} heads of an even size for the rotary permutation");
            }
        }
        var shape = torchShape.Reverse().ToArray();
        return new ConvertedTensor(new GgufTensorInfo(mapping.GgufName, shape, GgmlType.F32), source.Shape.Count, source, null, mapping, shardIndex);
    }

    /// <summary>
    /// A GPTQ/AWQ linear layer under its GGUF name: float32 rows <c>(q − z)·s</c> in nn.Linear layout, read from
    /// <paramref name="layer"/>, made on first use: a view of the mapped checkpoint that holds no copy of the
    /// packed tensors, so each chunk reads only the words its rows need. The mapping's row permutation applies to
    /// whole rows.
    /// </summary>
    public static ConvertedTensor FromPacked(string module, Func<PackedInt4Linear> layer, long inFeatures, long outFeatures, TensorMapping mapping, int shardIndex, long fileOffset,
        long storedBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping.KeepRows is not null || mapping.AddOne || mapping.PermuteHeads is { } heads && (heads <= 0 || outFeatures % heads != 0 || outFeatures / heads % 2 != 0))
        {
            throw new ConversionException($"'{module}': the architecture's transform of this tensor does not apply to a packed 4-bit layer");
        }
        return new ConvertedTensor(new GgufTensorInfo(mapping.GgufName, [inFeatures, outFeatures], GgmlType.F32), 2, null, null, mapping, shardIndex)
        {
            _packed = new Lazy<PackedInt4Linear>(layer, LazyThreadSafetyMode.ExecutionAndPublication),
            _packedOffset = fileOffset,
            _packedBytes = storedBytes,
        };
    }

    /// <summary>
    /// Q4_0 or Q4_1 straight from a GPTQ/AWQ layer when every value maps exactly (<see cref="PackedInt4Linear.CanMapLossless"/>);
    /// the Q/K permutation moves whole rows, so it applies to the encoded rows unchanged.
    /// </summary>
    public bool TryReadEncoded(GgmlType type, long firstRow, long rowCount, Span<byte> destination)
    {
        if (_packed is null || !IsLossless(type))
        {
            return false;
        }
        var layer = _packed.Value;
        var rowBytes = (int)GgmlTypeInfo.Of(type).RowBytes(layer.InFeatures);
        for (var r = 0; r < rowCount; r++)
        {
            var row = firstRow + r;
            var source = Mapping.PermuteHeads is { } heads ? PermutedIndex(row, Info.RowCount, heads) : row;
            layer.Encode(type, (int)source, 1, destination.Slice((int)(r * rowBytes), rowBytes));
        }
        return true;
    }

    /// <summary>Whether a packed layer maps onto <paramref name="type"/> without loss; <paramref name="reason"/> says why not.</summary>
    public bool IsLossless(GgmlType type, out string? reason)
    {
        reason = null;
        if (_packed is null)
        {
            reason = "not a packed 4-bit layer";
            return false;
        }
        return _packed.Value.CanMapLossless(type, out reason);
    }

    bool IsLossless(GgmlType type)
    {
        if (type is not (GgmlType.Q4_0 or GgmlType.Q4_1))
        {
            return false;
        }
        lock (_lossless)
        {
            if (!_lossless.TryGetValue(type, out var lossless))
            {
                lossless = _lossless[type] = IsLossless(type, out _);
            }
            return lossless;
        }
    }

    /// <summary>A tensor the converter makes itself, 1-D float32.</summary>
    public static ConvertedTensor Generated(string ggufName, float[] values) =>
        new(new GgufTensorInfo(ggufName, [values.Length], GgmlType.F32), 1, null, values, new TensorMapping(ggufName), 0);

    public void Read(long start, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start > Info.ByteSize - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"bytes {start}..{start + destination.Length} lie outside tensor '{Info.Name}' ({Info.ByteSize} bytes)");
        }
        if (start % sizeof(float) == 0 && destination.Length % sizeof(float) == 0)
        {
            ReadFloats(start / sizeof(float), MemoryMarshal.Cast<byte, float>(destination));
            return;
        }
        // An unaligned range (never asked for by the pipeline): go through whole floats.
        var first = start / sizeof(float);
        var count = (int)((start + destination.Length + sizeof(float) - 1) / sizeof(float) - first);
        var buffer = ArrayPool<float>.Shared.Rent(count);
        try
        {
            ReadFloats(first, buffer.AsSpan(0, count));
            MemoryMarshal.AsBytes(buffer.AsSpan(0, count)).Slice((int)(start - first * sizeof(float)), destination.Length).CopyTo(destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>Elements [<paramref name="first"/>, + destination.Length) of the transformed tensor, row-major.</summary>
    public void ReadFloats(long first, Span<float> destination)
    {
        if (_values is not null)
        {
            _values.AsSpan((int)first, destination.Length).CopyTo(destination);
            return;
        }
        var rowLength = Info.RowLength;
        if (Mapping.PermuteHeads is null && !Mapping.AddOne)
        {
            // Rows keep their place: one contiguous read (KeepRows only shortens the tensor).
            ReadSource(first, destination);
            return;
        }
        var done = 0;
        var rowBuffer = ArrayPool<float>.Shared.Rent((int)rowLength);
        try
        {
            while (done < destination.Length)
            {
                var element = first + done;
                var row = element / rowLength;
                var column = (int)(element % rowLength);
                var n = (int)Math.Min(rowLength - column, destination.Length - done);
                if (column == 0 && n == rowLength)
                {
                    ReadRow(row, destination.Slice(done, n));
                }
                else
                {
                    var whole = rowBuffer.AsSpan(0, (int)rowLength);
                    ReadRow(row, whole);
                    whole.Slice(column, n).CopyTo(destination.Slice(done, n));
                }
                done += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowBuffer);
        }
    }

    void ReadRow(long row, Span<float> destination)
    {
        var rowLength = destination.Length;
        if (Mapping.PermuteHeads is { } heads)
        {
            if (Dimensions <= 1)
            {
                // A bias: the permutation moves single elements.
                var all = ArrayPool<float>.Shared.Rent(rowLength);
                try
                {
                    ReadSource(0, all.AsSpan(0, rowLength));
                    for (var i = 0; i < rowLength; i++)
                    {
                        destination[i] = all[PermutedIndex(i, rowLength, heads)];
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(all);
                }
            }
            else
            {
                var rows = Info.RowCount;
                ReadSource(PermutedIndex(row, rows, heads) * rowLength, destination);
            }
        }
        else
        {
            ReadSource(row * rowLength, destination);
        }
        if (Mapping.AddOne)
        {
            AddOne(destination);
        }
    }

    /// <summary>
    /// Where output row <paramref name="index"/> of <c>LlamaModel.permute</c> comes from: each head's rows
    /// are viewed as (2, half) and transposed to (half, 2).
    /// </summary>
    public static long PermutedIndex(long index, long count, int heads)
    {
        var perHead = count / heads;
        var half = perHead / 2;
        var head = index / perHead;
        var within = index % perHead;
        return (head * perHead) + (within % 2 * half) + (within / 2);
    }

    void AddOne(Span<float> values)
    {
        if (_source!.Type == SafetensorsDType.F16)
        {
            // The converter adds 1 to an F16 tensor in half precision (only bf16 and wider are widened first).
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Fp16.ToFloat(Fp16.FromFloat(values[i] + 1f));
            }
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] += 1f;
            }
        }
    }

    void ReadSource(long firstElement, Span<float> destination)
    {
        if (_packed is not null)
        {
            ReadPacked(firstElement, destination);
            return;
        }
        var size = SafetensorsDTypes.Size(_source!.Type);
        var bytes = destination.Length * size;
        var scratch = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            _source.ReadFloats(firstElement, destination, scratch.AsSpan(0, bytes));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    void ReadPacked(long firstElement, Span<float> destination)
    {
        var layer = _packed!.Value;
        var rowLength = layer.InFeatures;
        if (firstElement % rowLength == 0 && destination.Length % rowLength == 0)
        {
            layer.Dequantize((int)(firstElement / rowLength), destination.Length / rowLength, destination);
            return;
        }
        var row = ArrayPool<float>.Shared.Rent(rowLength);
        try
        {
            var done = 0;
            while (done < destination.Length)
            {
                var element = firstElement + done;
                var column = (int)(element % rowLength);
                layer.Dequantize((int)(element / rowLength), 1, row.AsSpan(0, rowLength));
                var n = Math.Min(rowLength - column, destination.Length - done);
                row.AsSpan(column, n).CopyTo(destination[done..]);
                done += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(row);
        }
    }

    public override string ToString() => Info.ToString();
}
