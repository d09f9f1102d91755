using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Quanta.Formats.Gguf;

/// <summary>
/// Serialises a GGUF header (magic, version, counts, key/values, tensor infos) into memory. The header is
/// built whole before any file is touched, so every argument error surfaces before anything is created, and
/// its exact length, hence the data offset and the file length, is known up front. Its size is bounded by
/// the metadata (a vocabulary: a few MB), never by the tensors.
/// </summary>
internal static class GgufHeaderWriter
{
    const uint Magic = 0x46554747; // "GGUF" read as a little-endian u32

    /// <summary>The version Quanta writes; v2 and v3 differ only in allowing big-endian files, which we never write.</summary>
    public const int Version = 3;

    // Strict: a string holding a lone surrogate cannot be written as UTF-8 and read back equal.
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The header bytes, without the padding that precedes the data section.</summary>
    public static byte[] Serialize(GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Quanta writes GGUF on little-endian machines only");
        }
        var buffer = new ArrayBufferWriter<byte>(4096);
        WriteUInt32(buffer, Magic);
        WriteUInt32(buffer, Version);
        WriteUInt64(buffer, (ulong)tensors.Count);
        WriteUInt64(buffer, (ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(buffer, key, "metadata key");
            WriteInt32(buffer, (int)value.Type);
            WriteValue(buffer, key, value);
        }
        foreach (var tensor in tensors)
        {
            WriteString(buffer, tensor.Name, "tensor name");
            // n_dims is the shape's length as given: ggml's C writer drops trailing 1s, gguf-py does not,
            // and a faithful copy must keep whichever the source chose.
            WriteUInt32(buffer, (uint)tensor.Shape.Count);
            foreach (var n in tensor.Shape)
            {
                WriteInt64(buffer, n);
            }
            WriteInt32(buffer, (int)tensor.Type);
            WriteUInt64(buffer, (ulong)tensor.Offset);
        }
        return buffer.WrittenSpan.ToArray();
    }

    static void WriteValue(ArrayBufferWriter<byte> buffer, string key, GgufValue value)
    {
        switch (value.RawValue)
        {
            case byte v: buffer.Write([v]); break;
            case sbyte v: buffer.Write([(byte)v]); break;
            case ushort v: BinaryPrimitives.WriteUInt16LittleEndian(buffer.GetSpan(2), v); buffer.Advance(2); break;
            case short v: BinaryPrimitives.WriteInt16LittleEndian(buffer.GetSpan(2), v); buffer.Advance(2); break;
            case uint v: WriteUInt32(buffer, v); break;
            case int v: WriteInt32(buffer, v); break;
            case float v: BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(4), v); buffer.Advance(4); break;
            case bool v: buffer.Write([v ? (byte)1 : (byte)0]); break;
            case string v: WriteString(buffer, v, $"value of '{key}'"); break;
            case ulong v: WriteUInt64(buffer, v); break;
            case long v: WriteInt64(buffer, v); break;
            case double v: BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), v); buffer.Advance(8); break;
            case GgufArray v: WriteArray(buffer, key, v); break;
            default: throw new ArgumentException($"metadata '{key}' holds a {value.RawValue.GetType().Name}, which GGUF cannot store", nameof(value));
        }
    }

    static void WriteArray(ArrayBufferWriter<byte> buffer, string key, GgufArray array)
    {
        WriteInt32(buffer, (int)array.ElementType);
        WriteUInt64(buffer, (ulong)array.Count);
        switch (array.Items)
        {
            case string[] strings:
                foreach (var s in strings)
                {
                    WriteString(buffer, s, $"string in '{key}'");
                }
                break;
            case GgufArray[] arrays:
                // A nested array's elements carry their own element type and count, but no value-type tag.
                foreach (var inner in arrays)
                {
                    WriteArray(buffer, key, inner);
                }
                break;
            case bool[] bools:
                var span = buffer.GetSpan(bools.Length);
                for (var i = 0; i < bools.Length; i++)
                {
                    span[i] = bools[i] ? (byte)1 : (byte)0;
                }
                buffer.Advance(bools.Length);
                break;
            // Numeric arrays are stored in the machine's (little-endian) layout, so they go out in one copy.
            case byte[] a: buffer.Write(a); break;
            case sbyte[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ushort[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case short[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case uint[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case int[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case float[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ulong[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case long[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            case double[] a: buffer.Write(MemoryMarshal.AsBytes(a.AsSpan())); break;
            default: throw new ArgumentException($"metadata '{key}' holds an array of {array.Items.GetType().GetElementType()?.Name}, which GGUF cannot store");
        }
    }

    static void WriteString(ArrayBufferWriter<byte> buffer, string s, string what)
    {
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(s);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"{what} is not valid Unicode (a lone surrogate) and cannot be written as UTF-8", e);
        }
        WriteUInt64(buffer, (ulong)length);
        StrictUtf8.GetBytes(s, buffer.GetSpan(length));
        buffer.Advance(length);
    }

    static void WriteUInt32(ArrayBufferWriter<byte> buffer, uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), v);
        buffer.Advance(4);
    }

    static void WriteInt32(ArrayBufferWriter<byte> buffer, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), v);
        buffer.Advance(4);
    }

    static void WriteUInt64(ArrayBufferWriter<byte> buffer, ulong v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.GetSpan(8), v);
        buffer.Advance(8);
    }

    static void WriteInt64(ArrayBufferWriter<byte> buffer, long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), v);
        buffer.Advance(8);
    }
}
