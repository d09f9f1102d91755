using System.Buffers.Binary;
using System.Text;

namespace Quanta.Formats.PyTorch;

/// <summary>One member of a <see cref="StoredZip"/>: where its bytes start in the file and how many there are.</summary>
internal readonly record struct ZipMember(string Name, long DataOffset, long Length);

/// <summary>A read-only window on mapped memory addressed with 64-bit offsets (files may exceed 2 GiB).</summary>
internal readonly unsafe struct MappedBytes(byte* pointer, long length)
{
    public long Length => length;

    /// <summary><paramref name="count"/> bytes from <paramref name="offset"/>; the caller has checked the range.</summary>
    public ReadOnlySpan<byte> Span(long offset, int count)
    {
        if (offset < 0 || count < 0 || offset > length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + count} lie outside {length}");
        }
        return new ReadOnlySpan<byte>(pointer + offset, count);
    }
}

/// <summary>
/// The central directory of a zip archive whose members are stored uncompressed, as <c>torch.save</c> writes
/// them (PyTorch's <c>PyTorchStreamWriter</c>, zip64 for large files, members padded to 64-byte alignment).
/// Only locations are read, never copied: tensors are spans over the mapped file. Every offset and length is
/// checked against the file size before use. System.IO.Compression cannot say where a member's bytes lie in
/// the file, which memory-mapped, zero-copy tensors need; hence this reader of the few records involved.
/// </summary>
internal static class StoredZip
{
    const uint EndOfCentralDirectory = 0x06054B50;
    const uint Zip64Locator = 0x07064B50;
    const uint Zip64EndOfCentralDirectory = 0x06064B50;
    const uint CentralHeader = 0x02014B50;
    const uint LocalHeader = 0x04034B50;
    const int EndRecordSize = 22;
    const int CentralHeaderSize = 46;
    const int LocalHeaderSize = 30;

    /// <summary>Reads the member table of the archive in <paramref name="file"/>; the names in file order.</summary>
    public static List<ZipMember> ReadMembers(MappedBytes file, string path)
    {
        var end = FindEndRecord(file, path);
        var record = file.Span(end, EndRecordSize);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(record[10..]);
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(record[12..]);
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(record[16..]);
        if (count == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF)
        {
            (count, directorySize, directoryOffset) = ReadZip64End(file, end, path);
        }
        if (directoryOffset > file.Length || directorySize > file.Length - directoryOffset)
        {
            throw Fail(path, directoryOffset, $"central directory of {directorySize} bytes lies outside the {file.Length}-byte file");
        }
        if (count > directorySize / CentralHeaderSize)
        {
            throw Fail(path, directoryOffset, $"{count} members cannot fit in a {directorySize}-byte central directory");
        }
        var members = new List<ZipMember>((int)count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var at = directoryOffset;
        var directoryEnd = directoryOffset + directorySize;
        for (var i = 0; i < count; i++)
        {
            var member = ReadCentralHeader(file, ref at, directoryEnd, path);
            if (!names.Add(member.Name))
            {
                throw Fail(path, at, $"member '{member.Name}' appears twice");
            }
            members.Add(member);
        }
        return members;
    }

    static long FindEndRecord(MappedBytes file, string path)
    {
        if (file.Length < EndRecordSize)
        {
            throw Fail(path, 0, $"a {file.Length}-byte file is too short to be a zip archive (torch.save's format)");
        }
        var lowest = Math.Max(0, file.Length - EndRecordSize - 0xFFFF);
        var tail = file.Span(lowest, (int)(file.Length - lowest));
        for (var at = tail.Length - EndRecordSize; at >= 0; at--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail[at..]) == EndOfCentralDirectory
                && BinaryPrimitives.ReadUInt16LittleEndian(tail[(at + 20)..]) == tail.Length - at - EndRecordSize)
            {
                return lowest + at;
            }
        }
        throw Fail(path, file.Length, "no end-of-central-directory record: not a zip archive, or truncated (a legacy, pre-1.6 torch.save file is not supported)");
    }

    static (long Count, long Size, long Offset) ReadZip64End(MappedBytes file, long end, string path)
    {
        var locator = end - 20;
        if (locator < 0 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(locator, 20)) != Zip64Locator)
        {
            throw Fail(path, end, "the end record defers to zip64 but there is no zip64 locator before it");
        }
        var recordOffset = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(locator + 8, 8));
        if (locator < 56 || recordOffset > (ulong)(locator - 56))
        {
            throw Fail(path, locator, $"zip64 end record offset {recordOffset} lies outside the file");
        }
        var record = file.Span((long)recordOffset, 56);
        if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndOfCentralDirectory)
        {
            throw Fail(path, (long)recordOffset, "expected the zip64 end-of-central-directory signature");
        }
        var count = BinaryPrimitives.ReadUInt64LittleEndian(record[32..]);
        var size = BinaryPrimitives.ReadUInt64LittleEndian(record[40..]);
        var offset = BinaryPrimitives.ReadUInt64LittleEndian(record[48..]);
        if (count > int.MaxValue || size > long.MaxValue || offset > long.MaxValue)
        {
            throw Fail(path, (long)recordOffset, "zip64 end record has impossible sizes");
        }
        return ((long)count, (long)size, (long)offset);
    }

    static ZipMember ReadCentralHeader(MappedBytes file, ref long at, long directoryEnd, string path)
    {
        if (directoryEnd - at < CentralHeaderSize)
        {
            throw Fail(path, at, "central directory ends inside a member header");
        }
        var header = file.Span(at, CentralHeaderSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != CentralHeader)
        {
            throw Fail(path, at, "expected a central directory header signature");
        }
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        var method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        long compressed = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(header[24..]);
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
        int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
        long localOffset = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
        var variable = (long)nameLength + extraLength + commentLength;
        if (directoryEnd - at - CentralHeaderSize < variable)
        {
            throw Fail(path, at, "member name and extra fields run past the central directory");
        }
        var nameStart = at + CentralHeaderSize;
        var name = DecodeName(file.Span(nameStart, nameLength), path, at);
        var extra = file.Span(nameStart + nameLength, extraLength);
        ApplyZip64Extra(extra, ref uncompressed, ref compressed, ref localOffset, path, at);
        if ((flags & 1) != 0)
        {
            throw Fail(path, at, $"member '{name}' is encrypted");
        }
        if (method != 0)
        {
            throw Fail(path, at, $"member '{name}' is compressed (method {method}); torch.save stores members uncompressed");
        }
        if (compressed != uncompressed)
        {
            throw Fail(path, at, $"stored member '{name}' has compressed size {compressed} but size {uncompressed}");
        }
        at += CentralHeaderSize + variable;
        var dataOffset = LocateData(file, localOffset, name, path);
        if (dataOffset > file.Length || uncompressed > file.Length - dataOffset)
        {
            throw Fail(path, dataOffset, $"member '{name}' ({uncompressed} bytes) runs past the end of the file");
        }
        return new ZipMember(name, dataOffset, uncompressed);
    }

    static void ApplyZip64Extra(ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long localOffset, string path, long at)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4)
            {
                throw Fail(path, at, "extra field runs past its header");
            }
            var body = extra.Slice(4, size);
            if (id == 1)
            {
                var read = 0;
                uncompressed = Take(body, ref read, uncompressed, path, at);
                compressed = Take(body, ref read, compressed, path, at);
                localOffset = Take(body, ref read, localOffset, path, at);
            }
            extra = extra[(4 + size)..];
        }
    }

    static long Take(ReadOnlySpan<byte> body, ref int read, long value, string path, long at)
    {
        if (value != 0xFFFFFFFF)
        {
            return value;
        }
        if (body.Length - read < 8)
        {
            throw Fail(path, at, "zip64 extra field is missing a 64-bit size or offset");
        }
        var wide = BinaryPrimitives.ReadUInt64LittleEndian(body[read..]);
        read += 8;
        return wide <= long.MaxValue ? (long)wide : throw Fail(path, at, $"zip64 value {wide} is out of range");
    }

    static long LocateData(MappedBytes file, long localOffset, string name, string path)
    {
        if (localOffset > file.Length - LocalHeaderSize)
        {
            throw Fail(path, localOffset, $"local header of '{name}' lies outside the file");
        }
        var header = file.Span(localOffset, LocalHeaderSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalHeader)
        {
            throw Fail(path, localOffset, $"expected the local header signature of '{name}'");
        }
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        return localOffset + LocalHeaderSize + nameLength + extraLength;
    }

    static string DecodeName(ReadOnlySpan<byte> bytes, string path, long at)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new PyTorchFormatException(path, $"at byte {at}: member name is not UTF-8", e);
        }
    }

    static PyTorchFormatException Fail(string path, long offset, string message) => new(path, $"at byte {offset}: {message}");
}
