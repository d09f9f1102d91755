using System.Security.Cryptography;
using System.Text;

namespace Quanta.Formats.Gguf;

/// <summary>
/// Writes a GGUF file in one pass, atomically. <see cref="Create"/> lays out the whole file (every tensor's
/// offset is the running sum of the padded sizes before it) and writes the header to a temporary file beside
/// the target; the caller then streams each tensor's bytes, in order and in chunks of any size, with
/// <see cref="WriteTensorData"/>; <see cref="Commit"/> flushes the file to disk and renames it over the target.
/// Until then the target is untouched: disposing without committing, a failed check or a cancellation
/// deletes the temporary file. Memory use is the header plus one stream buffer, whatever the model's size.
/// Not thread-safe: one producer writes, in order.
/// </summary>
public sealed class GgufWriter : IDisposable
{
    /// <summary>Chunk size when copying from a memory-mapped source: large enough to go straight past the stream buffer.</summary>
    internal const int CopyChunkBytes = 4 << 20;

    readonly GgufTensorInfo[] _tensors;
    readonly CancellationToken _cancellationToken;
    readonly bool _flushToDisk;
    readonly IncrementalHash? _hash;
    FileStream? _stream;
    // A finished file, held locked while it waits for its rename (see TemporaryFiles.Lock).
    FileStream? _lock;
    State _state = State.Writing;
    int _index;
    long _written;

    GgufWriter(string path, string tempPath, FileStream stream, GgufTensorInfo[] tensors, int alignment, long dataOffset, long length, GgufWriterOptions options)
    {
        Path = path;
        TempPath = tempPath;
        _stream = stream;
        _tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        Length = length;
        _cancellationToken = options.CancellationToken;
        _flushToDisk = options.FlushToDisk;
        _hash = options.ContentHash;
    }

    enum State
    {
        Writing,
        Finished,
        Committed,
        Aborted,
    }

    /// <summary>The file this writer replaces on <see cref="Commit"/>.</summary>
    public string Path { get; }

    /// <summary>The temporary file being written, beside <see cref="Path"/>.</summary>
    public string TempPath { get; }

    /// <summary>The tensors as they will be in the file, each with its data offset.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>Padding of the data section and of every tensor.</summary>
    public int Alignment { get; }

    /// <summary>Where the data section starts: the header's length padded to the alignment.</summary>
    public long DataOffset { get; }

    /// <summary>The complete file's length, a multiple of the alignment.</summary>
    public long Length { get; }

    /// <summary>Bytes written so far, header and padding included; for progress reports.</summary>
    public long Position => _stream?.Position ?? (_state is State.Finished or State.Committed ? Length : 0);

    /// <summary>Complete on disk, waiting for <see cref="Publish"/>.</summary>
    internal bool IsFinished => _state == State.Finished;

    /// <summary>The tensor the next bytes belong to, or null once every tensor is complete.</summary>
    public GgufTensorInfo? CurrentTensor
    {
        get
        {
            SkipCompleteTensors();
            return _index < _tensors.Length ? _tensors[_index] : null;
        }
    }

    /// <summary>
    /// Lays out the file, checks the arguments and writes the header to a temporary file beside
    /// <paramref name="path"/>. The offsets of <paramref name="tensors"/> are ignored: tensors are stored in
    /// list order, back to back, each padded. The alignment is 32 unless <paramref name="metadata"/> holds a
    /// u32 <c>general.alignment</c>. Metadata value types are written as given; choosing the ones
    /// llama.cpp expects (u32 counts, f32 epsilons ...) is the caller's job.
    /// </summary>
    /// <exception cref="ArgumentException">Bad metadata or tensors, or <paramref name="path"/> is a protected input.
    /// Nothing has been created then.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist (the message names it).</exception>
    public static GgufWriter Create(string path, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors, GgufWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        options ??= GgufWriterOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BufferSize, 1, nameof(options));
        options.CancellationToken.ThrowIfCancellationRequested();

        var fullPath = System.IO.Path.GetFullPath(path);
        OutputPaths.ThrowIfInput(fullPath, options.ProtectedInputs, nameof(path));
        if (Directory.Exists(fullPath))
        {
            throw new ArgumentException($"cannot write '{path}': it is a directory", nameof(path));
        }

        var alignment = AlignmentOf(metadata);
        var laidOut = LayOut(tensors, alignment, out var dataBytes);
        var header = GgufHeaderWriter.Serialize(metadata, laidOut);
        var dataOffset = Pad(header.Length, alignment);
        var length = checked(dataOffset + dataBytes);

        var (tempPath, stream) = TemporaryFiles.Create(fullPath, options.BufferSize, preallocationSize: length);
        CopyPermissions(fullPath, tempPath);
        var writer = new GgufWriter(fullPath, tempPath, stream, laidOut, alignment, dataOffset, length, options);
        try
        {
            writer.Append(header);
            writer.WriteZeros(dataOffset - header.Length);
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The length of the file <see cref="Create"/> would write for <paramref name="metadata"/> and
    /// <paramref name="tensors"/> (header, metadata, tensor infos, padding and data), without writing anything.
    /// </summary>
    public static long FileLength(GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        var alignment = AlignmentOf(metadata);
        var laidOut = LayOut(tensors, alignment, out var dataBytes);
        return checked(Pad(GgufHeaderWriter.Serialize(metadata, laidOut).Length, alignment) + dataBytes);
    }

    /// <summary>
    /// Optional check that the caller is where it thinks it is: every tensor before <paramref name="name"/> must
    /// be complete and <paramref name="name"/> must be next, with none of its bytes written yet.
    /// </summary>
    public void BeginTensor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfNotWriting();
        // Zero-byte tensors are complete before they begin, so they may be named or passed over.
        while (_index < _tensors.Length && _tensors[_index].Name != name && _written == _tensors[_index].ByteSize)
        {
            Advance();
        }
        if (_index >= _tensors.Length)
        {
            Fail(new InvalidOperationException($"tensor '{name}' was begun, but every tensor is already written or it is not in this file"));
        }
        var current = _tensors[_index];
        if (current.Name != name)
        {
            Fail(new InvalidOperationException(
                $"tensor '{name}' was begun while tensor '{current.Name}' has {_written} of its {current.ByteSize} bytes; tensors are written in order, each in full"));
        }
        if (_written != 0)
        {
            Fail(new InvalidOperationException($"tensor '{name}' was begun twice ({_written} of its {current.ByteSize} bytes are written)"));
        }
    }

    /// <summary>
    /// Appends bytes to the current tensor. A tensor may come in any number of chunks, but a chunk never
    /// reaches past the end of its tensor: the writer moves to the next tensor when one is complete.
    /// </summary>
    /// <exception cref="InvalidOperationException">The chunk is longer than what the current tensor still
    /// needs, or every tensor is complete. The temporary file is deleted; the writer is unusable.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the temporary file is deleted.</exception>
    public void WriteTensorData(ReadOnlySpan<byte> chunk)
    {
        ThrowIfNotWriting();
        if (chunk.IsEmpty)
        {
            return;
        }
        SkipCompleteTensors();
        if (_index >= _tensors.Length)
        {
            Fail(new InvalidOperationException($"{chunk.Length} bytes were written after the last tensor was complete"));
        }
        var tensor = _tensors[_index];
        var left = tensor.ByteSize - _written;
        if (chunk.Length > left)
        {
            Fail(new InvalidOperationException(
                $"tensor '{tensor.Name}' is {tensor.ByteSize} bytes, but {_written + chunk.Length} were written to it ({chunk.Length - left} too many)"));
        }
        try
        {
            Append(chunk);
        }
        catch
        {
            Abort();
            throw;
        }
        _written += chunk.Length;
        if (_written == tensor.ByteSize)
        {
            Advance();
        }
    }

    /// <summary>
    /// Streams a whole tensor from an open GGUF file (zero copies from its memory mapping), in chunks, into
    /// the current tensor. Its byte size must be the current tensor's; its name and type may differ.
    /// </summary>
    public void WriteTensor(GgufTensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfNotWriting();
        SkipCompleteTensors();
        if (_index < _tensors.Length && _written == 0 && source.ByteSize != _tensors[_index].ByteSize)
        {
            Fail(new InvalidOperationException(
                $"tensor '{source.Name}' is {source.ByteSize} bytes, but the file's next tensor '{_tensors[_index].Name}' is {_tensors[_index].ByteSize}"));
        }
        for (long start = 0; start < source.ByteSize; start += CopyChunkBytes)
        {
            WriteTensorData(source.Slice(start, (int)Math.Min(CopyChunkBytes, source.ByteSize - start)));
        }
    }

    /// <summary>
    /// Checks that every tensor is complete, flushes the file to disk and renames it over the target. An
    /// existing target is replaced only now, by the complete new file.
    /// </summary>
    public void Commit()
    {
        Finish();
        // A cancellation that arrives after the bytes are safe on disk but before the rename still wins:
        // the caller asked for the target to be left alone.
        ThrowIfCancelled();
        Publish();
    }

    /// <summary>
    /// The first half of <see cref="Commit"/>: checks, flushes and closes the temporary file but does not
    /// rename it, so a set of files (a split model) can be completed first and published together
    /// (<see cref="GgufFileSet"/>).
    /// </summary>
    internal void Finish()
    {
        ThrowIfNotWriting();
        ThrowIfCancelled();
        SkipCompleteTensors();
        if (_index < _tensors.Length)
        {
            var tensor = _tensors[_index];
            var missing = _tensors.Skip(_index + 1).Count(t => t.ByteSize > 0);
            Fail(new InvalidOperationException(
                $"tensor '{tensor.Name}' got {_written} of its {tensor.ByteSize} bytes" + (missing > 0 ? $", and {missing} more tensors got none" : "")));
        }
        var stream = _stream!;
        if (stream.Position != Length)
        {
            Fail(new InvalidOperationException($"internal error: {stream.Position} bytes written where {Length} were laid out"));
        }
        try
        {
            stream.Flush(flushToDisk: _flushToDisk);
            stream.Dispose();
            _stream = null;
            _lock = TemporaryFiles.Lock(TempPath);
        }
        catch
        {
            Abort();
            throw;
        }
        _state = State.Finished;
    }

    /// <summary>
    /// The second half of <see cref="Commit"/>: renames the finished file over the target. It does not look at
    /// the cancellation token: a set of files checks it once, before the first of its renames.
    /// </summary>
    internal void Publish()
    {
        if (_state != State.Finished)
        {
            throw new InvalidOperationException(_state == State.Committed ? "the file is already committed" : "the file is not finished");
        }
        // rename(2) replaces the target atomically on POSIX, as MoveFileEx with REPLACE_EXISTING does on NTFS
        // (which refuses to move a file that is open, hence the lock goes first).
        try
        {
            _lock?.Dispose();
            _lock = null;
            File.Move(TempPath, Path, overwrite: true);
            TemporaryFiles.Forget(TempPath);
        }
        catch
        {
            Abort();
            throw;
        }
        _state = State.Committed;
    }

    /// <summary>Abandons the file: closes and deletes the temporary file. The target is untouched. Idempotent.</summary>
    public void Abort()
    {
        if (_state is State.Committed or State.Aborted)
        {
            return;
        }
        _state = State.Aborted;
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // Closing can fail to flush (disk full); the file is being thrown away anyway.
        }
        _stream = null;
        _lock?.Dispose();
        _lock = null;
        TemporaryFiles.TryDelete(TempPath);
    }

    /// <summary>Deletes the temporary file unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose() => Abort();

    /// <summary>
    /// Copies a GGUF file: the same metadata in the same order, the same tensors with the same bytes. A copy
    /// of a split set becomes one file, without the <c>split.*</c> keys. The source's files are protected
    /// inputs.
    /// </summary>
    public static void CopyFile(GgufFile source, string path, GgufWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var metadata = new GgufMetadata(source.Metadata);
        if (source.IsSplit)
        {
            GgufSplit.RemoveSplitKeys(metadata);
        }
        Copy(source, metadata, path, options);
    }

    /// <summary>Writes every tensor of <paramref name="source"/> under <paramref name="metadata"/>, protecting the source's files.</summary>
    internal static void Copy(GgufFile source, GgufMetadata metadata, string path, GgufWriterOptions? options)
    {
        using var writer = Create(path, metadata, [.. source.Tensors.Select(t => t.Info)], ProtectingSource(source, options));
        foreach (var tensor in source.Tensors)
        {
            writer.WriteTensor(tensor);
        }
        writer.Commit();
    }

    /// <summary>The options with the source's files added to the protected inputs.</summary>
    internal static GgufWriterOptions ProtectingSource(GgufFile source, GgufWriterOptions? options)
    {
        options ??= GgufWriterOptions.Default;
        return options with { ProtectedInputs = [.. options.ProtectedInputs, .. source.FilePaths] };
    }

    /// <summary>The tensors with their data offsets; <paramref name="dataBytes"/> is the data section's length.</summary>
    internal static GgufTensorInfo[] LayOut(IReadOnlyList<GgufTensorInfo> tensors, int alignment, out long dataBytes)
    {
        var laidOut = new GgufTensorInfo[tensors.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i] ?? throw new ArgumentException($"tensor {i} is null", nameof(tensors));
            // The same limits llama.cpp's reader enforces, so that a file we write is a file it loads.
            if (Encoding.UTF8.GetByteCount(tensor.Name) > GgufTensorInfo.MaxNameBytes)
            {
                throw new ArgumentException($"tensor name '{tensor.Name}' is longer than {GgufTensorInfo.MaxNameBytes} bytes", nameof(tensors));
            }
            if (!names.Add(tensor.Name))
            {
                throw new ArgumentException($"duplicate tensor name '{tensor.Name}'", nameof(tensors));
            }
            laidOut[i] = tensor.Offset == offset ? tensor : tensor.WithOffset(offset);
            offset = checked(offset + Pad(tensor.ByteSize, alignment));
        }
        dataBytes = offset;
        return laidOut;
    }

    /// <summary>The alignment <paramref name="metadata"/> asks for: a u32 power of two in <c>general.alignment</c>, or 32.</summary>
    internal static int AlignmentOf(GgufMetadata metadata)
    {
        if (!metadata.TryGetValue(GgufKeys.Alignment, out var value))
        {
            return GgufKeys.DefaultAlignment;
        }
        if (value.Type != GgufValueType.UInt32)
        {
            // llama.cpp reads the key with gguf_get_val_u32 and rejects any other type.
            throw new ArgumentException($"{GgufKeys.Alignment} has type {GgufValueTypes.Name(value.Type)}; llama.cpp requires u32", nameof(metadata));
        }
        var alignment = value.AsUInt32();
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 1 << 30)
        {
            throw new ArgumentException($"{GgufKeys.Alignment} is {alignment}; it must be a power of two", nameof(metadata));
        }
        return (int)alignment;
    }

    internal static long Pad(long value, int alignment) => checked((value + alignment - 1) / alignment * alignment);

    /// <summary>A replaced file keeps its permissions, as it would had it been overwritten in place.</summary>
    static void CopyPermissions(string target, string tempPath)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(target))
        {
            return;
        }
        try
        {
            File.SetUnixFileMode(tempPath, File.GetUnixFileMode(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Permissions are a courtesy; the default mode is fine.
        }
    }

    void Advance()
    {
        var tensor = _tensors[_index];
        WriteZeros(Pad(tensor.ByteSize, Alignment) - tensor.ByteSize);
        _index++;
        _written = 0;
    }

    void SkipCompleteTensors()
    {
        // Only zero-byte tensors can be complete before a write reaches them; others advance when filled.
        while (_state == State.Writing && _index < _tensors.Length && _tensors[_index].ByteSize == 0 && _written == 0)
        {
            Advance();
        }
    }

    void WriteZeros(long count)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (count > 0)
        {
            var n = (int)Math.Min(count, zeros.Length);
            var slice = zeros[..n];
            try
            {
                Append(slice);
            }
            catch
            {
                Abort();
                throw;
            }
            count -= n;
        }
    }

    void Append(ReadOnlySpan<byte> bytes)
    {
        _stream!.Write(bytes);
        _hash?.AppendData(bytes);
    }

    void ThrowIfNotWriting()
    {
        switch (_state)
        {
            case State.Writing:
                ThrowIfCancelled();
                return;
            case State.Aborted:
                throw new InvalidOperationException($"the writer of '{Path}' was aborted; nothing more can be written");
            default:
                throw new InvalidOperationException($"'{Path}' is already complete; nothing more can be written");
        }
    }

    void ThrowIfCancelled()
    {
        if (_cancellationToken.IsCancellationRequested)
        {
            Abort();
            _cancellationToken.ThrowIfCancellationRequested();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    void Fail(Exception e)
    {
        Abort();
        throw e;
    }
}
