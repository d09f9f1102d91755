using Quanta.Formats;

namespace Quanta.Store;

/// <summary>Reading every manifest, removing a model, and collecting the blobs nothing references.</summary>
/// <remarks>
/// The folder may be shared with Ollama, which does not take Quanta's lock: it renames a finished download
/// (<c>sha256-…-partial</c>) to its digest before it writes the manifest, and <c>POST /api/blobs</c> stores blobs
/// that only a later <c>/api/create</c> references. So, as Ollama does (server/images.go, manifest/manifest.go):
/// <c>rm</c> deletes only the removed model's own layers that no other manifest references, and a full
/// collection (<see cref="Prune"/>) leaves alone every blob younger than an hour and every download in progress.
/// </remarks>
public sealed partial class ModelStore
{
    /// <summary>Ollama's <c>layerPruneGracePeriod</c>: an unreferenced blob younger than this may be about to be referenced.</summary>
    public static readonly TimeSpan PruneGracePeriod = TimeSpan.FromHours(1);

    /// <summary>
    /// A file where Ollama looks for manifests: its model name and manifest, or why it is skipped
    /// (<see cref="Problem"/>; then <see cref="Manifest"/> is null).
    /// </summary>
    internal sealed record ManifestFile(string Path, ModelName? Name, Manifest? Manifest, byte[]? Bytes, DateTime ModifiedUtc, string? Problem);

    /// <summary>
    /// Every file at <c>manifests/*/*/*/*</c>, the only place Ollama's <c>manifest.Manifests</c> reads: a stray file
    /// anywhere else (a <c>.DS_Store</c> beside the host folders) is nobody's manifest and is not looked at; a
    /// file there whose path is not a model name or whose content is not a manifest is reported and skipped
    /// (Ollama logs "bad manifest name" and "bad manifest" and goes on), never fatal to the others.
    /// </summary>
    internal List<ManifestFile> ScanManifests()
    {
        var files = new List<ManifestFile>();
        if (!Directory.Exists(ManifestsDirectory))
        {
            return files;
        }
        // Go's filepath.Glob matches names that start with a dot too.
        var all = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var host in Directory.EnumerateDirectories(ManifestsDirectory, "*", all))
        {
            foreach (var ns in Directory.EnumerateDirectories(host, "*", all))
            {
                foreach (var model in Directory.EnumerateDirectories(ns, "*", all))
                {
                    foreach (var tag in Directory.EnumerateFiles(model, "*", all))
                    {
                        files.Add(ReadManifestFile(tag, host, ns, model));
                    }
                }
            }
        }
        return files;
    }

    ManifestFile ReadManifestFile(string path, string host, string ns, string model)
    {
        var shown = System.IO.Path.GetRelativePath(Root, path);
        DateTime modified;
        try
        {
            modified = File.GetLastWriteTimeUtc(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ManifestFile(path, null, null, null, default, $"skipping {shown}: {e.Message}");
        }
        var text = $"{System.IO.Path.GetFileName(host)}/{System.IO.Path.GetFileName(ns)}/{System.IO.Path.GetFileName(model)}:{System.IO.Path.GetFileName(path)}";
        if (!ModelName.TryParse(text, out var name))
        {
            return new ManifestFile(path, null, null, null, modified, $"skipping {shown}: not a model name, so not a manifest");
        }
        try
        {
            var bytes = File.ReadAllBytes(path);
            return new ManifestFile(path, name, Manifest.FromJson(bytes, shown), bytes, modified, null);
        }
        catch (Exception e) when (e is StoreException or IOException or UnauthorizedAccessException)
        {
            return new ManifestFile(path, name, null, null, modified, $"skipping model '{name!.DisplayShortest}': {(e is StoreException ? e.Message : $"{shown}: {e.Message}")}");
        }
    }

    /// <summary>Every model, newest first (as <c>ollama list</c> orders them). Files that are not models are skipped and reported to <paramref name="warning"/>.</summary>
    public IReadOnlyList<StoredModelInfo> List(Action<string>? warning = null)
    {
        var models = new List<StoredModelInfo>();
        foreach (var file in ScanManifests())
        {
            if (file.Manifest is null)
            {
                warning?.Invoke(file.Problem!);
                continue;
            }
            models.Add(new StoredModelInfo(file.Name!, Digests.Of(file.Bytes), file.Manifest.TotalSize, file.ModifiedUtc));
        }
        return [.. models.OrderByDescending(m => m.ModifiedAt).ThenBy(m => m.Name.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>
    /// Removes the model's manifest, then those of its own layers (and config) that no other manifest
    /// references, as Ollama's <c>Manifest.RemoveLayers</c> does; nothing else. Returns the blobs deleted, or null
    /// when other Quanta writers kept the store busy and the layers were left for <see cref="Prune"/>.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public IReadOnlyList<string>? Remove(ModelName name, Action<string>? warning = null)
    {
        var own = RemoveManifest(name, warning);
        return own is null ? [] : DeleteUnreferenced(own.Blobs.Select(l => l.Digest), RemoveCollectionWait, warning);
    }

    /// <summary><see cref="Remove"/> for a server: the wait for writers to finish holds no thread.</summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public async Task<IReadOnlyList<string>?> RemoveAsync(ModelName name, Action<string>? warning = null, CancellationToken cancellationToken = default)
    {
        var own = RemoveManifest(name, warning);
        if (own is null)
        {
            return [];
        }
        using var collector = await TryEnterCollectorAsync(RemoveCollectionWait, cancellationToken).ConfigureAwait(false);
        return collector is null ? null : DeleteUnreferencedLocked(own.Blobs.Select(l => l.Digest), warning);
    }

    static readonly TimeSpan RemoveCollectionWait = TimeSpan.FromSeconds(5);

    /// <summary>Deletes the model's manifest; returns it, or null when it could not be read (its layers are then unknown).</summary>
    Manifest? RemoveManifest(ModelName name, Action<string>? warning)
    {
        ArgumentNullException.ThrowIfNull(name);
        var path = ManifestPath(name);
        if (!File.Exists(path))
        {
            throw new ModelNotFoundException($"model '{name.DisplayShortest}' not found");
        }
        Manifest? own = null;
        try
        {
            own = Manifest.FromJson(File.ReadAllBytes(path), System.IO.Path.GetRelativePath(Root, path));
        }
        catch (StoreException e)
        {
            // Its layers are unknown; removing the name is still what was asked.
            warning?.Invoke($"{e.Message}; its layers are left for 'quanta prune'");
        }
        File.Delete(path);
        RemoveEmptyParents(path);
        return own;
    }

    /// <summary>Empty model, namespace and host directories go with their last manifest, as Ollama's PruneDirectory removes them.</summary>
    void RemoveEmptyParents(string manifestPath)
    {
        var directory = System.IO.Path.GetDirectoryName(manifestPath);
        for (var i = 0; i < 3 && directory is not null && !System.IO.Path.GetFullPath(directory).Equals(ManifestsDirectory, StringComparison.Ordinal); i++)
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries(directory).Any())
                {
                    break;
                }
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                break;
            }
            directory = System.IO.Path.GetDirectoryName(directory);
        }
    }

    /// <summary>
    /// Deletes those of <paramref name="candidates"/> that no manifest references, under the collector's
    /// exclusive lock (so never a blob a Quanta create has written but not yet referenced). Null when writers
    /// held the store longer than <paramref name="wait"/>.
    /// </summary>
    internal IReadOnlyList<string>? DeleteUnreferenced(IEnumerable<string> candidates, TimeSpan wait, Action<string>? warning = null)
    {
        using var collector = TryEnterCollector(wait);
        return collector is null ? null : DeleteUnreferencedLocked(candidates, warning);
    }

    /// <summary>The work of <see cref="DeleteUnreferenced"/>, once the collector's lock is held.</summary>
    List<string> DeleteUnreferencedLocked(IEnumerable<string> candidates, Action<string>? warning)
    {
        var deleted = new List<string>();
        if (ReferencedDigests(warning) is not { } referenced)
        {
            return deleted;
        }
        foreach (var digest in candidates.Select(Normalize).Distinct(StringComparer.Ordinal))
        {
            if (!referenced.Contains(digest) && TryDeleteBlob(digest))
            {
                deleted.Add(digest);
            }
        }
        return deleted;
    }

    /// <summary>
    /// Ollama's start-up prune (<c>PruneLayers</c>), made safer for a shared folder: deletes every blob
    /// (<c>sha256-&lt;hex&gt;</c>) that no manifest references and that has not been modified for
    /// <see cref="PruneGracePeriod"/>. Never touches a download in progress (any <c>*-partial*</c> name) or a file
    /// that is not named as a blob; Quanta's own temporary files are deleted once they are older than the grace
    /// period (left by a process that died: a live writer holds the lock this waits for). Null when Quanta
    /// writers held the store for more than a few seconds.
    /// </summary>
    public PruneResult? Prune(Action<string>? warning = null)
    {
        using var collector = TryEnterCollector(TimeSpan.FromSeconds(5));
        if (collector is null)
        {
            return null;
        }
        var deleted = new List<string>();
        var young = new List<string>();
        long bytes = 0;
        if (ReferencedDigests(warning) is not { } referenced || !Directory.Exists(BlobsDirectory))
        {
            return new PruneResult(deleted, 0, young);
        }
        // Temporary files of a Quanta writer that died are recognised and aged by the rule every writer uses.
        TemporaryFiles.RemoveStale(BlobsDirectory);
        var cutoff = DateTime.UtcNow - PruneGracePeriod;
        foreach (var file in Directory.EnumerateFiles(BlobsDirectory, "*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            var fileName = System.IO.Path.GetFileName(file);
            if (fileName.Contains("-partial", StringComparison.Ordinal))
            {
                continue;
            }
            var info = new FileInfo(file);
            if (fileName.StartsWith(TempPrefix, StringComparison.Ordinal))
            {
                continue; // a writer's temporary file: swept below by the one rule for them
            }
            if (!fileName.StartsWith("sha256-", StringComparison.Ordinal) || !Digests.IsValid(fileName))
            {
                continue;
            }
            var digest = Normalize(fileName);
            if (referenced.Contains(digest))
            {
                continue;
            }
            if (info.LastWriteTimeUtc > cutoff)
            {
                young.Add(digest);
                continue;
            }
            if (TryDeleteBlob(digest))
            {
                deleted.Add(digest);
                bytes += info.Length;
            }
        }
        return new PruneResult(deleted, bytes, young);
    }

    /// <summary>
    /// The digests every readable manifest references, or null when a manifest that cannot be read was written
    /// less than <see cref="PruneGracePeriod"/> ago: Ollama writes manifests in place, so it may be one being
    /// written right now, whose blobs must stay. An older unreadable manifest is skipped, as Ollama skips it.
    /// </summary>
    HashSet<string>? ReferencedDigests(Action<string>? warning)
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var recent = DateTime.UtcNow - PruneGracePeriod;
        foreach (var file in ScanManifests())
        {
            if (file.Manifest is null)
            {
                warning?.Invoke(file.Problem!);
                if (file.Name is not null && file.ModifiedUtc > recent)
                {
                    warning?.Invoke($"{System.IO.Path.GetRelativePath(Root, file.Path)} changed less than an hour ago and may still be being written: no layer is deleted now");
                    return null;
                }
                continue;
            }
            foreach (var layer in file.Manifest.Blobs)
            {
                referenced.Add(Normalize(layer.Digest));
            }
        }
        return referenced;
    }

    /// <summary><c>sha256:&lt;lower-case hex&gt;</c>, from either spelling (<c>sha256-</c> is the file name's).</summary>
    static string Normalize(string digest) => "sha256:" + digest[7..].ToLowerInvariant();

    bool TryDeleteBlob(string digest)
    {
        var path = BlobPath(digest);
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }
            File.Delete(path);
            _verified.Remove(digest);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
