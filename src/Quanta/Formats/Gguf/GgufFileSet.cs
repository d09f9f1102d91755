namespace Quanta.Formats.Gguf;

/// <summary>
/// Several GGUF files written all or nothing: the shards of a split model, a text model and its projector.
/// Each file is written to a temporary file by its own <see cref="GgufWriter"/>; the renames happen only in
/// <see cref="Commit"/>, once every file is complete. Until then a failure, a cancellation or disposing the set
/// deletes every temporary file and leaves every target as it was.
/// </summary>
/// <remarks>
/// The cancellation token is looked at once more before the first rename and not between renames, so a
/// Ctrl+C can never leave half a set renamed. Should a rename itself fail (the file system, not the user), the
/// files already renamed are deleted again: a split set that mixes new and old shards would load as garbage,
/// while a missing one is refused by every reader.
/// </remarks>
internal sealed class GgufFileSet : IDisposable
{
    readonly string[] _paths;
    readonly GgufWriter?[] _writers;
    readonly GgufWriterOptions _options;

    /// <summary>
    /// Checks every target before a single file is created: the paths must differ from each other and from
    /// the protected inputs of <paramref name="options"/>, and name files (not directories) in directories
    /// that exist.
    /// </summary>
    /// <exception cref="ArgumentException">Two targets are the same file, or a target is an input or a directory.</exception>
    /// <exception cref="DirectoryNotFoundException">A target's directory does not exist (the message names it).</exception>
    public GgufFileSet(IEnumerable<string> paths, GgufWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        _paths = [.. paths.Select(Path.GetFullPath)];
        _writers = new GgufWriter?[_paths.Length];
        _options = options;
        var seen = new Dictionary<string, string>(OutputPaths.Comparer);
        foreach (var path in _paths)
        {
            OutputPaths.ThrowIfInput(path, options.ProtectedInputs, nameof(paths));
            if (!seen.TryAdd(OutputPaths.Resolve(path), path))
            {
                throw new ArgumentException($"two outputs are the same file: '{path}'", nameof(paths));
            }
            if (Directory.Exists(path))
            {
                throw new ArgumentException($"cannot write '{path}': it is a directory", nameof(paths));
            }
            TemporaryFiles.ThrowIfDirectoryMissing(path);
        }
    }

    /// <summary>The targets, absolute, in order.</summary>
    public IReadOnlyList<string> Paths => _paths;

    /// <summary>Starts file <paramref name="index"/>: lays it out and writes its header (<see cref="GgufWriter.Create"/>).</summary>
    public GgufWriter Create(int index, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors)
    {
        if (_writers[index] is not null)
        {
            throw new InvalidOperationException($"'{_paths[index]}' was already started");
        }
        var writer = GgufWriter.Create(_paths[index], metadata, tensors, _options);
        _writers[index] = writer;
        return writer;
    }

    /// <summary>
    /// Completes file <paramref name="index"/> now (checked, flushed to disk, closed) rather than at
    /// <see cref="Commit"/>, so that a set of many files does not keep them all open and buffered.
    /// </summary>
    public void Finish(int index) =>
        (_writers[index] ?? throw new InvalidOperationException($"'{_paths[index]}' was never started")).Finish();

    /// <summary>
    /// Completes every file not finished yet, then renames them all over their targets. Throws (deleting every
    /// temporary file) when a file is incomplete or the operation was cancelled.
    /// </summary>
    public void Commit()
    {
        for (var i = 0; i < _writers.Length; i++)
        {
            var writer = _writers[i] ?? throw new InvalidOperationException($"'{_paths[i]}' was never started");
            if (!writer.IsFinished)
            {
                writer.Finish();
            }
        }
        if (_options.CancellationToken.IsCancellationRequested)
        {
            Dispose();
            _options.CancellationToken.ThrowIfCancellationRequested();
        }
        var published = 0;
        try
        {
            for (; published < _writers.Length; published++)
            {
                _writers[published]!.Publish();
            }
        }
        catch
        {
            for (var i = 0; i < published; i++)
            {
                TemporaryFiles.TryDelete(_paths[i]);
            }
            Dispose();
            throw;
        }
    }

    /// <summary>Deletes the temporary files of every file not renamed yet; after <see cref="Commit"/>, does nothing.</summary>
    public void Dispose()
    {
        foreach (var writer in _writers)
        {
            writer?.Dispose();
        }
    }
}
