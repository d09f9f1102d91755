namespace Quanta.Formats.Gguf;

/// <summary>
/// How a <see cref="GgufWriter"/> writes. A record, so that a caller adding one setting (a content hash, its
/// own protected inputs) copies the rest with <c>with</c> rather than field by field.
/// </summary>
public sealed record GgufWriterOptions
{
    /// <summary>
    /// Files the output must not replace: the model being read, an imatrix... The target is refused, before
    /// anything is created, when it names one of these after links are followed.
    /// </summary>
    public IReadOnlyList<string> ProtectedInputs { get; init; } = [];

    /// <summary>Checked on every call; once cancelled, the next call deletes the temporary file and throws.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Buffer of the output stream. Small writes (header pieces, padding, small tensors) gather here; chunks at
    /// least this large go straight to the file.
    /// </summary>
    public int BufferSize { get; init; } = 1 << 20;

    /// <summary>
    /// Flush the file to disk (fsync) before it replaces the target, so a power cut leaves the old file or
    /// the complete new one. Tests of throw-away files may turn it off.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>
    /// Optional hash that sees every byte of the file as it is written, header and padding included, so a
    /// content-addressed store can name the file by its digest without reading it a second time.
    /// </summary>
    public System.Security.Cryptography.IncrementalHash? ContentHash { get; init; }

    internal static readonly GgufWriterOptions Default = new();
}
