using System.Buffers.Binary;
using System.Text;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// The protobuf wire format, just enough of it to read <c>sentencepiece_model.proto</c>: varints, 32- and
/// 64-bit fixed values and length-delimited fields. Every read is bounds-checked against the message it
/// belongs to, so a forged length can neither read past the buffer nor make us allocate more than the file
/// holds. Hand-written because a Google.Protobuf dependency plus generated code would be larger than the
/// handful of fields llama.cpp's converter looks at.
/// </summary>
internal ref struct ProtobufReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    readonly ReadOnlySpan<byte> _data;
    readonly string? _file;
    readonly long _baseOffset;
    int _position;

    /// <param name="baseOffset">Where <paramref name="data"/> starts in the file, for error messages.</param>
    public ProtobufReader(ReadOnlySpan<byte> data, string? file, long baseOffset = 0)
    {
        _data = data;
        _file = file;
        _baseOffset = baseOffset;
        _position = 0;
    }

    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>File offset of the next byte to read.</summary>
    public readonly long Offset => _baseOffset + _position;

    /// <summary>Reads a field key: the field number and wire type.</summary>
    public (int Field, int WireType) ReadKey()
    {
        var start = Offset;
        var key = ReadVarint();
        var field = key >> 3;
        var wire = (int)(key & 7);
        // Field 0 and numbers beyond 2^29 - 1 are invalid in every protobuf message.
        if (field == 0 || field > 0x1FFF_FFFF)
        {
            throw Error(start, $"invalid field number {field}");
        }
        return ((int)field, wire);
    }

    public ulong ReadVarint()
    {
        var start = Offset;
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw Error(start, "varint runs past the end of the message");
            }
            var b = _data[_position++];
            // The tenth byte may only carry the top bit of a 64-bit value.
            if (shift == 63 && b > 1)
            {
                throw Error(start, "varint is longer than 64 bits");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw Error(start, "varint is longer than 10 bytes");
    }

    /// <summary>
    /// An <c>int32</c> field: protobuf writes negative values (SentencePiece's <c>pad_id = -1</c>) as a
    /// sign-extended 10-byte varint, so the low 32 bits are the value.
    /// </summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public bool ReadBool() => ReadVarint() != 0;

    public float ReadFloat()
    {
        var bytes = ReadFixed(4, "float");
        return BinaryPrimitives.ReadSingleLittleEndian(bytes);
    }

    /// <summary>A length-delimited field's bytes; <paramref name="offset"/> is where they start in the file.</summary>
    public ReadOnlySpan<byte> ReadBytes(out long offset)
    {
        var start = Offset;
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw Error(start, $"length {length} runs past the end of the message ({_data.Length - _position} bytes left)");
        }
        offset = Offset;
        var bytes = _data.Slice(_position, (int)length);
        _position += (int)length;
        return bytes;
    }

    public string ReadString()
    {
        var bytes = ReadBytes(out var offset);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Error(offset, "string is not valid UTF-8", e);
        }
    }

    /// <summary>Skips a field of an unknown number, as protobuf readers must for forward compatibility.</summary>
    public void Skip(int wireType)
    {
        var start = Offset;
        switch (wireType)
        {
            case WireVarint:
                ReadVarint();
                break;
            case WireFixed64:
                ReadFixed(8, "fixed64");
                break;
            case WireLengthDelimited:
                ReadBytes(out _);
                break;
            case WireFixed32:
                ReadFixed(4, "fixed32");
                break;
            default:
                // Groups (3, 4) are deprecated and absent from sentencepiece_model.proto; 6 and 7 do not exist.
                throw Error(start, $"unsupported wire type {wireType}");
        }
    }

    /// <summary>Checks that a known field arrived with the wire type its declaration implies.</summary>
    public readonly void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected)
        {
            throw Error(Offset, $"field {field} has wire type {wireType}, expected {expected}");
        }
    }

    ReadOnlySpan<byte> ReadFixed(int size, string what)
    {
        if (_data.Length - _position < size)
        {
            throw Error(Offset, $"{what} runs past the end of the message");
        }
        var bytes = _data.Slice(_position, size);
        _position += size;
        return bytes;
    }

    readonly TokenizerFormatException Error(long offset, string message, Exception? inner = null) =>
        new(_file, offset, message, inner);

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
