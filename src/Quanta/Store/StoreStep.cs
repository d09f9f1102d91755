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

/// <summary>A blob in the store: its digest and size, and whether it was there before this write.</summary>
public sealed record StoredBlob(string Digest, long Size, bool Existed);

/// <summary>One row of <c>list</c>.</summary>
public sealed record StoredModelInfo(ModelName Name, string ManifestDigest, long Size, DateTimeOffset ModifiedAt);
