using System.Buffers.Binary;
using System.Text;

namespace Quanta.Formats.Imatrix;

/// <summary>
/// llama.cpp's legacy importance-matrix file (<c>imatrix.dat</c>), as examples/imatrix/imatrix.cpp (February
/// 2025) writes it and llama-quantize reads it. Little-endian, no header or version:
/// <code>
/// i32 n_entries
/// n_entries × { i32 name_len, name bytes (no NUL), i32 ncall, i32 nval, nval × f32 }
/// i32 last_call            (optional: older files end after the entries)
/// i32 dataset_len, dataset bytes
/// </code>
/// Reading and writing keep every byte: the entries stay in file order and the optional tail stays absent
/// when it was absent.
/// </summary>
public sealed class ImatrixDatFile
{
    public ImatrixDatFile(IReadOnlyList<ImatrixDatEntry> entries, int? lastCall, string? dataset)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (lastCall is null && dataset is not null)
        {
            throw new ArgumentException("a dataset name is written after the last call count; give both or neither", nameof(dataset));
        }
        Entries = [.. entries];
        LastCall = lastCall;
        Dataset = dataset;
    }

    public IReadOnlyList<ImatrixDatEntry> Entries { get; }

    /// <summary>The highest <c>ncall</c> when the file was written (the chunk count llama-quantize reports); null in files older than that field.</summary>
    public int? LastCall { get; }

    /// <summary>The calibration text's file name as llama-imatrix was given it; null in files older than that field.</summary>
    public string? Dataset { get; }

    /// <summary>Whether <paramref name="path"/> begins with the GGUF magic (then it is a GGUF imatrix, not a <c>.dat</c>).</summary>
    public static bool IsGguf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
    }

    /// <exception cref="ImatrixFormatException">The file is truncated or its counts are impossible.</exception>
    public static ImatrixDatFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses a whole <c>.dat</c> file; <paramref name="fileName"/> names it in errors.</summary>
    public static ImatrixDatFile Read(ReadOnlySpan<byte> data, string? fileName = null)
    {
        var reader = new Reader(data, fileName);
        var count = reader.Int32("entry count");
        if (count < 1)
        {
            // llama-quantize's "no data in file".
            throw reader.Error(0, $"no data in the file (entry count {count})");
        }
        var entries = new List<ImatrixDatEntry>(Math.Min(count, 1 << 16));
        for (var i = 0; i < count; i++)
        {
            var nameLength = reader.Int32($"entry {i + 1}'s name length");
            if (nameLength < 0)
            {
                throw reader.Error(reader.Position - 4, $"entry {i + 1}'s name length is {nameLength}");
            }
            var name = reader.Text(nameLength, $"entry {i + 1}'s name");
            var calls = reader.Int32($"the call count of '{name}'");
            var valueCount = reader.Int32($"the value count of '{name}'");
            if (valueCount < 1)
            {
                throw reader.Error(reader.Position - 4, $"'{name}' has {valueCount} values");
            }
            entries.Add(new ImatrixDatEntry(name, calls, reader.Floats(valueCount, $"the values of '{name}'")));
        }
        // llama-quantize reads the tail only when something follows the entries (older files end there).
        if (reader.AtEnd)
        {
            return new ImatrixDatFile(entries, null, null);
        }
        var lastCall = reader.Int32("the last call count");
        var datasetLength = reader.Int32("the dataset name's length");
        if (datasetLength < 0)
        {
            throw reader.Error(reader.Position - 4, $"the dataset name's length is {datasetLength}");
        }
        var dataset = reader.Text(datasetLength, "the dataset name");
        if (!reader.AtEnd)
        {
            throw reader.Error(reader.Position, $"{data.Length - reader.Position} unexpected bytes after the dataset name");
        }
        return new ImatrixDatFile(entries, lastCall, dataset);
    }

    /// <summary>Writes the file atomically: a temporary file beside <paramref name="path"/>, renamed when complete.</summary>
    public void Write(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var (temporary, stream) = TemporaryFiles.Create(full, 1 << 16);
        try
        {
            using (stream)
            {
                Write(stream);
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

    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        // BinaryWriter writes little-endian on every platform, as the format is.
        void Text(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
        writer.Write(Entries.Count);
        foreach (var entry in Entries)
        {
            Text(entry.Name);
            writer.Write(entry.Calls);
            writer.Write(entry.Values.Length);
            foreach (var value in entry.Values)
            {
                writer.Write(value);
            }
        }
        if (LastCall is { } lastCall)
        {
            writer.Write(lastCall);
            Text(Dataset ?? "");
        }
    }

    ref struct Reader(ReadOnlySpan<byte> data, string? fileName)
    {
        readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public readonly bool AtEnd => Position == _data.Length;

        public readonly ImatrixFormatException Error(long offset, string message) => new(fileName, offset, message);

        public int Int32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, what));

        public string Text(int length, string what) => Encoding.UTF8.GetString(Take(length, what));

        public float[] Floats(int count, string what)
        {
            if (count > int.MaxValue / 4)
            {
                throw Error(Position, $"{what}: {count} values are more than a file of this kind can hold");
            }
            var bytes = Take(count * 4, what);
            var values = new float[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4, 4));
            }
            return values;
        }

        ReadOnlySpan<byte> Take(int length, string what)
        {
            if (length > _data.Length - Position)
            {
                throw Error(Position, $"the file ends before {what} ({length} bytes needed, {_data.Length - Position} left)");
            }
            var slice = _data.Slice(Position, length);
            Position += length;
            return slice;
        }
    }
}
