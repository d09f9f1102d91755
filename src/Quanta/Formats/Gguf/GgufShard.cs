using Microsoft.Win32.SafeHandles;

namespace Quanta.Formats.Gguf;

/// <summary>One GGUF file held open: its parsed header and its mapped bytes. A split set has several.</summary>
internal sealed class GgufShard : IDisposable
{
    readonly Lock _handleLock = new();
    SafeFileHandle? _readHandle;
    bool _disposed;

    GgufShard(string path, GgufMemory memory, GgufHeader header)
    {
        Path = path;
        Memory = memory;
        Header = header;
    }

    public string Path { get; }

    public GgufMemory Memory { get; }

    public GgufHeader Header { get; }

    public long DataOffset => Header.DataOffset;

    public long Length => Memory.Length;

    public static GgufShard Open(string path) =>
        FromMemory(path, GgufMemory.MapFile(
            path,
            (message, inner) => new GgufFormatException(path, -1, message, inner),
            length =>
            {
                if (length < 24)
                {
                    ThrowTooShort(path, File.ReadAllBytes(path));
                }
            }));

    public static GgufShard FromBytes(byte[] bytes, string name)
    {
        if (bytes.Length < 24)
        {
            ThrowTooShort(name, bytes);
        }
        return FromMemory(name, GgufMemory.Pin(bytes));
    }

    static unsafe GgufShard FromMemory(string path, GgufMemory memory)
    {
        try
        {
            var header = GgufHeaderReader.Read(memory.Pointer, memory.Length, path);
            return new GgufShard(path, memory, header);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    static void ThrowTooShort(string path, ReadOnlySpan<byte> bytes)
    {
        // A short file that starts with the magic is a truncated GGUF; anything else is not a GGUF at all.
        if (bytes.StartsWith("GGUF"u8))
        {
            throw new GgufFormatException(path, bytes.Length, "the file ends inside the GGUF header (truncated file)");
        }
        throw new GgufFormatException(path, 0, $"not a GGUF file: {bytes.Length} bytes is shorter than a GGUF header");
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Copies bytes at an absolute file offset into <paramref name="destination"/>. A mapped file is read with
    /// positioned reads (pread) rather than through the mapping: every page touched through a mapping stays in
    /// the process's resident set until the mapping goes, so streaming a 15 GB model through it would make the
    /// process look 15 GB large, while pages read with pread live in the page cache only. Thread-safe.
    /// </summary>
    public unsafe void Read(long offset, Span<byte> destination)
    {
        ThrowIfDisposed();
        if (offset < 0 || offset > Length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + destination.Length} lie outside '{Path}' ({Length} bytes)");
        }
        if (!Memory.IsFile)
        {
            new ReadOnlySpan<byte>(Memory.Pointer + offset, destination.Length).CopyTo(destination);
            return;
        }
        var handle = ReadHandle();
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

    SafeFileHandle ReadHandle()
    {
        lock (_handleLock)
        {
            ThrowIfDisposed();
            // FileShare.Delete for the same reason as the mapping: a writer may replace the file by rename.
            return _readHandle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
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
            Memory.Dispose();
        }
    }
}
