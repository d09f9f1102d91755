using System.Buffers.Binary;
using System.Text;

namespace Quanta.Formats.Gguf;

/// <summary>What a GGUF file's header says: version, metadata, tensor infos, alignment and where data starts.</summary>
internal sealed record GgufHeader(int Version, GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors, int Alignment, long DataOffset);

/// <summary>
/// Parses a GGUF header from untrusted bytes. Every length is checked against the bytes that remain before
/// anything is allocated from it, so a corrupt or hostile file costs at most its own size in memory and ends
/// in a <see cref="GgufFormatException"/> naming the offset.
/// </summary>
internal unsafe ref struct GgufHeaderReader
{
    const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32
    const int MaxArrayNesting = 32;

    readonly byte* _start;
    readonly long _length;
    readonly string _file;
    long _position;

    GgufHeaderReader(byte* start, long length, string file)
    {
        _start = start;
        _length = length;
        _file = file;
    }

    public static GgufHeader Read(byte* start, long length, string file) => new GgufHeaderReader(start, length, file).ReadHeader();

    long Remaining => _length - _position;

    GgufHeader ReadHeader()
    {
        if (_length < 4 || ReadUInt32() != Magic)
        {
            throw Error(0, "not a GGUF file: the first 4 bytes are not \"GGUF\"");
        }
        var versionAt = _position;
        var version = ReadUInt32();
        if (version != 0 && (version & 0xFFFF) == 0)
        {
            throw Error(versionAt, $"big-endian GGUF files are not supported (version field reads 0x{version:X8}); convert it to little-endian");
        }
        if (version is not (2 or 3))
        {
            throw Error(versionAt, version == 1
                ? "GGUF version 1 is not supported; re-convert the model with a current converter"
                : $"unsupported GGUF version {version}; versions 2 and 3 are supported");
        }

        var tensorCount = ReadCount("tensor count", minBytesEach: 8 + 4 + 8 + 4 + 8);
        var kvCount = ReadCount("metadata entry count", minBytesEach: 8 + 4 + 1);

        var metadata = new GgufMetadata();
        for (long i = 0; i < kvCount; i++)
        {
            var keyAt = _position;
            var key = ReadString("metadata key");
            var typeAt = _position;
            var type = ReadValueType("metadata value");
            var value = ReadValue(type, typeAt, depth: 0);
            if (metadata.ContainsKey(key))
            {
                throw Error(keyAt, $"duplicate metadata key '{key}'");
            }
            metadata.Add(key, value);
        }

        var alignment = ReadAlignment(metadata);

        var infos = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long expectedOffset = 0;
        for (long i = 0; i < tensorCount; i++)
        {
            var infoAt = _position;
            var info = ReadTensorInfo(names, expectedOffset);
            if (info.ByteSize > _length - expectedOffset)
            {
                throw Error(infoAt, $"tensor '{info.Name}' ({info.ByteSize} bytes) cannot fit in a file of {_length} bytes");
            }
            expectedOffset += Pad(info.ByteSize, alignment);
            infos.Add(info);
        }

        var dataOffset = Pad(_position, alignment);
        foreach (var info in infos)
        {
            // llama.cpp's loader checks each tensor against the file size; padding after the last one is not required.
            if (info.ByteSize > _length - dataOffset - info.Offset)
            {
                throw Error(dataOffset + info.Offset,
                    $"tensor '{info.Name}' data ({info.ByteSize} bytes at data offset {info.Offset}) runs past the end of the file ({_length} bytes); the file is truncated");
            }
        }
        return new GgufHeader((int)version, metadata, infos, alignment, dataOffset);
    }

    GgufTensorInfo ReadTensorInfo(HashSet<string> names, long expectedOffset)
    {
        var nameAt = _position;
        var name = ReadString("tensor name");
        if (Encoding.UTF8.GetByteCount(name) > GgufTensorInfo.MaxNameBytes)
        {
            throw Error(nameAt, $"tensor name '{name}' is longer than {GgufTensorInfo.MaxNameBytes} bytes");
        }
        if (!names.Add(name))
        {
            throw Error(nameAt, $"duplicate tensor name '{name}'");
        }
        var dimsAt = _position;
        var dims = ReadUInt32();
        if (dims is 0 or > GgufTensorInfo.MaxDimensions)
        {
            throw Error(dimsAt, $"tensor '{name}' has {dims} dimensions; expected 1 to {GgufTensorInfo.MaxDimensions}");
        }
        var shape = new long[dims];
        for (var d = 0; d < dims; d++)
        {
            var at = _position;
            shape[d] = ReadInt64();
            if (shape[d] < 0)
            {
                throw Error(at, $"tensor '{name}' dimension {d} is negative ({shape[d]})");
            }
        }
        if (GgufTensorInfo.CheckedElementCount(shape) is null)
        {
            throw Error(dimsAt, $"tensor '{name}' element count overflows int64 (shape [{string.Join(", ", shape)}])");
        }
        var typeAt = _position;
        var typeId = ReadInt32();
        if (!GgmlTypeInfo.TryGet(typeId, out var typeInfo))
        {
            throw Error(typeAt, $"tensor '{name}': {GgmlTypeInfo.DescribeUnknownId(typeId)}");
        }
        if (shape[0] % typeInfo.BlockElements != 0)
        {
            throw Error(typeAt, $"tensor '{name}' of type {typeInfo.Name} has row length {shape[0]}, not a multiple of the block size {typeInfo.BlockElements}");
        }
        if (GgufTensorInfo.CheckedByteSize(shape, typeInfo.Type) is null)
        {
            throw Error(dimsAt, $"tensor '{name}' byte size overflows int64");
        }
        var offsetAt = _position;
        var offset = ReadUInt64();
        if (offset != (ulong)expectedOffset)
        {
            // ggml requires tensors stored back to back in info order, each padded to the alignment.
            throw Error(offsetAt, $"tensor '{name}' has offset {offset}, expected {expectedOffset}");
        }
        return new GgufTensorInfo(name, shape, typeInfo.Type, expectedOffset);
    }

    int ReadAlignment(GgufMetadata metadata)
    {
        if (!metadata.TryGetValue(GgufKeys.Alignment, out var value))
        {
            return GgufKeys.DefaultAlignment;
        }
        if (value.Type != GgufValueType.UInt32)
        {
            throw Error(-1, $"{GgufKeys.Alignment} has type {GgufValueTypes.Name(value.Type)}; expected u32");
        }
        var alignment = value.AsUInt32();
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 1 << 30)
        {
            throw Error(-1, $"{GgufKeys.Alignment} is {alignment}; expected a power of two");
        }
        return (int)alignment;
    }

    GgufValue ReadValue(GgufValueType type, long typeAt, int depth) => type switch
    {
        GgufValueType.UInt8 => GgufValue.UInt8(Take(1)[0]),
        GgufValueType.Int8 => GgufValue.Int8((sbyte)Take(1)[0]),
        GgufValueType.UInt16 => GgufValue.UInt16(BinaryPrimitives.ReadUInt16LittleEndian(Take(2))),
        GgufValueType.Int16 => GgufValue.Int16(BinaryPrimitives.ReadInt16LittleEndian(Take(2))),
        GgufValueType.UInt32 => GgufValue.UInt32(ReadUInt32()),
        GgufValueType.Int32 => GgufValue.Int32(ReadInt32()),
        GgufValueType.Float32 => GgufValue.Float32(BinaryPrimitives.ReadSingleLittleEndian(Take(4))),
        GgufValueType.Bool => GgufValue.Bool(Take(1)[0] != 0),
        GgufValueType.String => GgufValue.String(ReadString("string value")),
        GgufValueType.UInt64 => GgufValue.UInt64(ReadUInt64()),
        GgufValueType.Int64 => GgufValue.Int64(ReadInt64()),
        GgufValueType.Float64 => GgufValue.Float64(BinaryPrimitives.ReadDoubleLittleEndian(Take(8))),
        GgufValueType.Array => GgufValue.Array(ReadArray(typeAt, depth)),
        _ => throw Error(typeAt, $"unknown metadata value type {(int)type}"),
    };

    GgufArray ReadArray(long typeAt, int depth)
    {
        if (depth >= MaxArrayNesting)
        {
            throw Error(typeAt, $"arrays nested more than {MaxArrayNesting} deep");
        }
        var elementType = ReadValueType("array element");
        var fixedSize = GgufValueTypes.FixedSize(elementType);
        var count = ReadCount("array length", minBytesEach: fixedSize > 0 ? fixedSize : elementType == GgufValueType.String ? 8 : 4 + 8);
        var n = (int)count;
        switch (elementType)
        {
            case GgufValueType.String:
                var strings = new string[n];
                for (var i = 0; i < n; i++)
                {
                    strings[i] = ReadString("array string");
                }
                return GgufArray.Of(strings);
            case GgufValueType.Array:
                var arrays = new GgufArray[n];
                for (var i = 0; i < n; i++)
                {
                    arrays[i] = ReadArray(_position, depth + 1);
                }
                return GgufArray.Of(arrays);
            case GgufValueType.Bool:
                var bools = new bool[n];
                var bytes = Take(n);
                for (var i = 0; i < n; i++)
                {
                    bools[i] = bytes[i] != 0;
                }
                return GgufArray.Of(bools);
            default:
                return ReadNumericArray(elementType, n);
        }
    }

    GgufArray ReadNumericArray(GgufValueType elementType, int n)
    {
        var bytes = Take(checked(n * GgufValueTypes.FixedSize(elementType)));
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Quanta reads GGUF on little-endian machines only");
        }
        return elementType switch
        {
            GgufValueType.UInt8 => GgufArray.Of(bytes.ToArray()),
            GgufValueType.Int8 => GgufArray.Of(Copy<sbyte>(bytes)),
            GgufValueType.UInt16 => GgufArray.Of(Copy<ushort>(bytes)),
            GgufValueType.Int16 => GgufArray.Of(Copy<short>(bytes)),
            GgufValueType.UInt32 => GgufArray.Of(Copy<uint>(bytes)),
            GgufValueType.Int32 => GgufArray.Of(Copy<int>(bytes)),
            GgufValueType.Float32 => GgufArray.Of(Copy<float>(bytes)),
            GgufValueType.UInt64 => GgufArray.Of(Copy<ulong>(bytes)),
            GgufValueType.Int64 => GgufArray.Of(Copy<long>(bytes)),
            GgufValueType.Float64 => GgufArray.Of(Copy<double>(bytes)),
            _ => throw new InvalidOperationException($"not a numeric type: {elementType}"),
        };
    }

    static T[] Copy<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();

    GgufValueType ReadValueType(string what)
    {
        var at = _position;
        var id = ReadInt32();
        if (!GgufValueTypes.IsDefined(id))
        {
            throw Error(at, $"{what} has unknown value type {id}; expected 0 to 12");
        }
        return (GgufValueType)id;
    }

    /// <summary>Reads a u64 count and checks that that many items of at least <paramref name="minBytesEach"/> bytes fit in the rest of the file.</summary>
    long ReadCount(string what, int minBytesEach)
    {
        var at = _position;
        var count = ReadUInt64();
        if (count > (ulong)(Remaining / minBytesEach) || count > int.MaxValue)
        {
            throw Error(at, $"{what} {count} cannot fit in the {Remaining} bytes left in the file");
        }
        return (long)count;
    }

    string ReadString(string what)
    {
        var at = _position;
        var length = ReadUInt64();
        if (length > (ulong)Remaining)
        {
            throw Error(at, $"{what} length {length} runs past the end of the file ({Remaining} bytes left)");
        }
        return Encoding.UTF8.GetString(Take((int)Math.Min(length, int.MaxValue)));
    }

    uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
        {
            throw Error(_position, $"the file ends after {_length} bytes; {count} more bytes were expected here (truncated file?)");
        }
        var span = new ReadOnlySpan<byte>(_start + _position, count);
        _position += count;
        return span;
    }

    readonly GgufFormatException Error(long offset, string message) => new(_file, offset, message);

    static long Pad(long value, int alignment) => checked((value + alignment - 1) / alignment * alignment);
}
