using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Quanta.Formats.Safetensors;

/// <summary>One tensor to write: its safetensors dtype name (<c>F32</c>, <c>BF16</c>, <c>I8</c> ...), shape, and a callback that writes exactly its bytes.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, Action<Stream> WriteData);

/// <summary>
/// Writes safetensors files byte for byte as the reference implementation (huggingface/safetensors
/// <c>serialize</c>) lays them out: an 8-byte little-endian header length; compact JSON with
/// <c>__metadata__</c> first, then tensors sorted by dtype (widest first, in the reference's dtype order) and
/// then by name; the header padded with spaces to a multiple of 8; the data in header order. Data is streamed
/// tensor by tensor; a file is written to a temporary name and renamed when complete.
/// </summary>
public static class SafetensorsWriter
{
    // The reference's Dtype enum, in declaration (= increasing alignment) order; the data is sorted by it, descending.
    static readonly string[] DTypeOrder = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    /// <summary>Bytes per element of a safetensors dtype name.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "F64" or "I64" or "U64" => 8,
        _ => throw new ArgumentException($"unknown safetensors dtype '{dtype}'", nameof(dtype)),
    };

    /// <summary>Writes <paramref name="entries"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var full = Path.GetFullPath(path);
        var (temporary, stream) = TemporaryFiles.Create(full, 1 << 20);
        try
        {
            using (stream)
            {
                Write(stream, entries, metadata);
            }
            File.Move(temporary, full, overwrite: true);
            TemporaryFiles.Forget(temporary);
        }
        catch
        {
            TemporaryFiles.TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="entries"/> to <paramref name="stream"/>; each callback must write exactly its tensor's bytes.</summary>
    public static void Write(Stream stream, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = entries
            .OrderByDescending(e => DTypeRank(e.DType))
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        var header = Header(ordered, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var entry in ordered)
        {
            var start = stream.CanSeek ? stream.Position : -1;
            entry.WriteData(stream);
            if (start >= 0 && stream.Position - start != ByteLength(entry))
            {
                throw new InvalidOperationException($"tensor '{entry.Name}' wrote {stream.Position - start} bytes; its shape and dtype need {ByteLength(entry)}");
            }
        }
    }

    static int DTypeRank(string dtype)
    {
        var rank = Array.IndexOf(DTypeOrder, dtype);
        return rank >= 0 ? rank : throw new ArgumentException($"unknown safetensors dtype '{dtype}'", nameof(dtype));
    }

    static long ByteLength(SafetensorsEntry entry)
    {
        long count = 1;
        foreach (var d in entry.Shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d);
            count = checked(count * d);
        }
        return checked(count * ElementSize(entry.DType));
    }

    static byte[] Header(List<SafetensorsEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        var first = true;
        if (metadata is not null)
        {
            json.Append("\"__metadata__\":{");
            var firstPair = true;
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                json.Append(firstPair ? "" : ",");
                AppendString(json, key);
                json.Append(':');
                AppendString(json, value);
                firstPair = false;
            }
            json.Append('}');
            first = false;
        }
        long offset = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in ordered)
        {
            if (!names.Add(entry.Name) || entry.Name == "__metadata__")
            {
                throw new ArgumentException($"tensor name '{entry.Name}' is used twice or reserved");
            }
            var end = offset + ByteLength(entry);
            json.Append(first ? "" : ",");
            AppendString(json, entry.Name);
            json.Append(":{\"dtype\":\"").Append(entry.DType).Append("\",\"shape\":[");
            json.AppendJoin(',', entry.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
            first = false;
        }
        json.Append('}');
        var bytes = Encoding.UTF8.GetBytes(json.ToString());
        var padded = new byte[(bytes.Length + 7) / 8 * 8];
        bytes.CopyTo(padded, 0);
        padded.AsSpan(bytes.Length).Fill((byte)' ');
        return padded;
    }

    // serde_json's escaping: quote, backslash and control characters; everything else verbatim (UTF-8).
    static void AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: json.Append(c); break;
            }
        }
        json.Append('"');
    }
}
