namespace Quanta.Store;

/// <summary>The steps of a store write where a failure can strike; tests inject faults at each.</summary>
public enum StoreStep
{
    /// <summary>A blob's bytes are about to be written to its temporary file.</summary>
    BlobWrite,

    /// <summary>A complete blob is about to be renamed to its digest.</summary>
    BlobRename,

    /// <summary>A manifest is about to be written to its temporary file.</summary>
    ManifestWrite,

    /// <summary>A complete manifest is about to replace the model's manifest.</summary>
    ManifestRename,
}

/// <summary>
/// A blob in the store: its digest and size, whether an intact copy was there before this write, and whether
/// this write replaced a damaged file of that name (same name, content that no longer hashed to it).
/// </summary>
public sealed record StoredBlob(string Digest, long Size, bool Existed, bool ReplacedCorrupt = false);

/// <summary>One row of <c>list</c>.</summary>
public sealed record StoredModelInfo(ModelName Name, string ManifestDigest, long Size, DateTimeOffset ModifiedAt);

/// <summary>
/// What <see cref="ModelStore.Prune"/> did: the blobs deleted and their total size, and the unreferenced blobs
/// kept because they are younger than the grace period (another tool may be about to reference them).
/// </summary>
public sealed record PruneResult(IReadOnlyList<string> Deleted, long DeletedBytes, IReadOnlyList<string> KeptYoung);

/// <summary>One blob of a model checked against its digest: <see cref="Problem"/> is null when it matches.</summary>
public sealed record LayerCheck(ManifestLayer Layer, string? Problem);
