using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Quanta.Formats.Safetensors;

/// <summary>A tensor to write: name, element type and shape (outermost first).</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDType Type, IReadOnlyList<long> Shape)
{
    public long ByteSize => Shape.Aggregate(1L, (a, b) => checked(a * b)) * SafetensorsDTypes.Size(Type);
}

/// <summary>
/// Writes a safetensors file: header first (tensors in the given order, data contiguous in that order,
/// the header padded with spaces to 8 bytes as the reference writer does), then each tensor's bytes from a
/// callback, so a large checkpoint never has to be in memory. The file appears only once complete.
/// </summary>
public static class SafetensorsWriter
{
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">The tensors, in file order.</param>
    /// <param name="writeData">Writes tensor <c>i</c>'s bytes (exactly its byte size) to the stream.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
    public static void Write(string path, IReadOnlyList<SafetensorsEntry> tensors, Action<int, Stream> writeData, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(writeData);
        var header = Header(tensors, metadata);
        var temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                for (var i = 0; i < tensors.Count; i++)
                {
                    var before = stream.Position;
                    writeData(i, stream);
                    if (stream.Position - before != tensors[i].ByteSize)
                    {
                        throw new InvalidOperationException($"tensor '{tensors[i].Name}': {stream.Position - before} bytes written, {tensors[i].ByteSize} expected");
                    }
                }
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    static byte[] Header(IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", SafetensorsDTypes.Name(tensor.Type));
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.ByteSize);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.ByteSize;
            }
            json.WriteEndObject();
        }
        var length = buffer.Length;
        var padded = (length + 7) / 8 * 8;
        var bytes = new byte[padded];
        buffer.ToArray().CopyTo(bytes, 0);
        Encoding.ASCII.GetBytes(new string(' ', (int)(padded - length))).CopyTo(bytes, (int)length);
        return bytes;
    }
}
