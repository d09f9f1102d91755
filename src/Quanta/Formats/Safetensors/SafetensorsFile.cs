using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Quanta.Formats.Gguf;

namespace Quanta.Formats.Safetensors;

/// <summary>
/// One safetensors file opened read-only and memory-mapped: an 8-byte little-endian header length, a JSON
/// header mapping names to <c>{dtype, shape, data_offsets}</c> (plus an optional <c>__metadata__</c> object of
/// strings), then the data. The header is validated once, at open, against the file's size before anything
/// depends on it: offsets inside the data, no two tensors sharing bytes, shape × element size = byte length.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>
    /// The reference implementation refuses headers above 100 MB; a larger length is a corrupt or hostile
    /// file, and refusing it early keeps a forged length from turning into a huge allocation.
    /// </summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly GgufMemory _memory;
    readonly Lock _handleLock = new();
    readonly Dictionary<string, SafetensorsTensor> _byName = new(StringComparer.Ordinal);
    SafeFileHandle? _readHandle;
    bool _disposed;

    SafetensorsFile(string path, GgufMemory memory)
    {
        Path = path;
        _memory = memory;
    }

    public string Path { get; }

    /// <summary>Bytes in the file.</summary>
    public long Length => _memory.Length;

    /// <summary>Where the data section starts: 8 + the header length.</summary>
    public long DataOffset { get; private set; }

    /// <summary>Tensors in name order (what the <c>safetensors</c> Python package and llama.cpp's converter iterate).</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; private set; } = [];

    /// <summary>The header's <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public SafetensorsTensor? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Opens and validates a file; anything malformed is a <see cref="SafetensorsFormatException"/>.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Load(path, GgufMemory.MapFile(
            path,
            (message, inner) => new SafetensorsFormatException(path, -1, message, inner),
            length =>
            {
                if (!File.Exists(path))
                {
                    throw new SafetensorsFormatException(path, -1, "file not found");
                }
                if (length < 8)
                {
                    ThrowTooShort(path, length);
                }
            }));
    }

    /// <summary>Parses a file held in memory (tests, fuzzing); <paramref name="name"/> appears in errors.</summary>
    internal static SafetensorsFile FromBytes(byte[] bytes, string name = "<memory>")
    {
        if (bytes.Length < 8)
        {
            ThrowTooShort(name, bytes.Length);
        }
        return Load(name, GgufMemory.Pin(bytes));
    }

    static void ThrowTooShort(string path, long length) =>
        throw new SafetensorsFormatException(path, 0, $"not a safetensors file: {length} bytes is shorter than the 8-byte header length");

    static SafetensorsFile Load(string path, GgufMemory memory)
    {
        var file = new SafetensorsFile(path, memory);
        try
        {
            file.ReadHeader();
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    void ReadHeader()
    {
        var length = _memory.Length;
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_memory.Pointer, 8));
        if (headerLength > MaxHeaderBytes)
        {
            throw new SafetensorsFormatException(Path, 0, $"header length {headerLength} is above the {MaxHeaderBytes}-byte limit (not a safetensors file, or a corrupt one)");
        }
        if ((long)headerLength > length - 8)
        {
            throw new SafetensorsFormatException(Path, 0, $"header length {headerLength} runs past the end of the {length}-byte file (truncated file?)");
        }
        if (headerLength < 2)
        {
            throw new SafetensorsFormatException(Path, 8, $"a {headerLength}-byte header cannot hold a JSON object");
        }
        DataOffset = 8 + (long)headerLength;
        var dataLength = length - DataOffset;
        var header = new ReadOnlySpan<byte>(_memory.Pointer + 8, (int)headerLength);
        if (header[0] != (byte)'{')
        {
            throw new SafetensorsFormatException(Path, 8, "the header does not start with '{' (not a safetensors file)");
        }

        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw new SafetensorsFormatException(Path, 8, "the header is not valid UTF-8");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(Path, 8 + (e.BytePositionInLine ?? 0), $"the header is not valid JSON: {FirstSentence(e.Message)}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsFormatException(Path, 8, $"the header is a JSON {root.ValueKind}; expected an object");
            }
            var tensors = new List<SafetensorsTensor>();
            var metadataSeen = false;
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name;
                if (name == "__metadata__")
                {
                    if (metadataSeen)
                    {
                        throw new SafetensorsFormatException(Path, 8, "the header has two __metadata__ entries");
                    }
                    metadataSeen = true;
                    Metadata = ReadMetadata(property.Value);
                    continue;
                }
                var tensor = ReadTensor(name, property.Value, dataLength);
                if (!_byName.TryAdd(name, tensor))
                {
                    throw new SafetensorsFormatException(Path, 8, $"tensor '{name}' appears twice in the header");
                }
                tensors.Add(tensor);
            }
            CheckNoOverlap(tensors);
            tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            Tensors = tensors;
        }
    }

    Dictionary<string, string> ReadMetadata(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafetensorsFormatException(Path, 8, $"__metadata__ is a JSON {value.ValueKind}; expected an object of strings");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafetensorsFormatException(Path, 8, $"__metadata__ entry '{entry.Name}' is a JSON {entry.Value.ValueKind}; expected a string");
            }
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw new SafetensorsFormatException(Path, 8, $"__metadata__ has two entries named '{entry.Name}'");
            }
        }
        return metadata;
    }

    SafetensorsTensor ReadTensor(string name, JsonElement value, long dataLength)
    {
        if (name.Length == 0)
        {
            throw new SafetensorsFormatException(Path, 8, "a tensor has an empty name");
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': entry is a JSON {value.ValueKind}; expected an object with dtype, shape and data_offsets");
        }
        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': dtype is missing or not a string");
        }
        if (!SafetensorsDTypes.TryParse(dtypeValue.GetString(), out var dtype))
        {
            throw new SafetensorsFormatException(Path, 8,
                $"tensor '{name}': unsupported dtype '{dtypeValue.GetString()}'; expected one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL");
        }
        if (!value.TryGetProperty("shape", out var shapeValue) || shapeValue.ValueKind != JsonValueKind.Array)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': shape is missing or not an array");
        }
        var dimensions = shapeValue.GetArrayLength();
        if (dimensions > 8)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': {dimensions} dimensions; at most 8 are supported");
        }
        var shape = new long[dimensions];
        var elements = (long?)1;
        for (var i = 0; i < dimensions; i++)
        {
            var d = shapeValue[i];
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var n) || n < 0)
            {
                throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': dimension {i} of the shape is not a non-negative integer");
            }
            shape[i] = n;
            elements = elements is { } e && (n == 0 || e <= long.MaxValue / n) ? e * n : null;
        }
        if (!value.TryGetProperty("data_offsets", out var offsetsValue) || offsetsValue.ValueKind != JsonValueKind.Array || offsetsValue.GetArrayLength() != 2)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': data_offsets is missing or not an array of two integers");
        }
        if (!offsetsValue[0].TryGetInt64Checked(out var begin) || !offsetsValue[1].TryGetInt64Checked(out var end) || begin < 0 || end < begin)
        {
            throw new SafetensorsFormatException(Path, 8, $"tensor '{name}': data_offsets must be two integers with 0 <= begin <= end");
        }
        if (end > dataLength)
        {
            throw new SafetensorsFormatException(Path, DataOffset + begin,
                $"tensor '{name}': bytes {begin}..{end} of the data section lie past its end ({dataLength} bytes; truncated file?)");
        }
        var size = SafetensorsDTypes.Size(dtype);
        if (elements is null || elements > long.MaxValue / size || elements * size != end - begin)
        {
            var expected = elements is null || elements > long.MaxValue / size ? "more bytes than a file can hold" : $"{elements * size} bytes";
            throw new SafetensorsFormatException(Path, DataOffset + begin,
                $"tensor '{name}': shape [{string.Join(", ", shape)}] of {SafetensorsDTypes.Name(dtype)} needs {expected}, but data_offsets give {end - begin}");
        }
        return new SafetensorsTensor(this, name, dtype, shape, begin, end - begin);
    }

    void CheckNoOverlap(List<SafetensorsTensor> tensors)
    {
        var byStart = tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.DataStart).ToArray();
        for (var i = 1; i < byStart.Length; i++)
        {
            var previous = byStart[i - 1];
            if (byStart[i].DataStart < previous.DataStart + previous.ByteSize)
            {
                throw new SafetensorsFormatException(Path, byStart[i].FileOffset,
                    $"tensors '{previous.Name}' and '{byStart[i].Name}' share bytes (data_offsets overlap)");
            }
        }
    }

    static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }

    internal ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ReadOnlySpan<byte>(_memory.Pointer + offset, length);
    }

    /// <summary>
    /// Positioned reads (pread) rather than the mapping, as for GGUF: pages touched through a mapping stay in
    /// the resident set, pages read with pread only in the page cache. Thread-safe.
    /// </summary>
    internal void Read(long offset, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_memory.IsFile)
        {
            new ReadOnlySpan<byte>(_memory.Pointer + offset, destination.Length).CopyTo(destination);
            return;
        }
        SafeFileHandle handle;
        lock (_handleLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            handle = _readHandle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(handle, destination, offset);
            if (n <= 0)
            {
                throw new EndOfStreamException($"'{Path}' ended at byte {offset}; it was {Length} bytes when opened");
            }
            destination = destination[n..];
            offset += n;
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            lock (_handleLock)
            {
                _readHandle?.Dispose();
            }
            _memory.Dispose();
        }
    }
}

file static class JsonIntegers
{
    /// <summary>An integer that fits int64; false for fractions, exponents that overflow, strings.</summary>
    public static bool TryGetInt64Checked(this JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }
}
