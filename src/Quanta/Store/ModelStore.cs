using System.Security.Cryptography;
using Quanta.Formats;

namespace Quanta.Store;

/// <summary>
/// Models on disk in Ollama's layout: <c>manifests/&lt;host&gt;/&lt;namespace&gt;/&lt;model&gt;/&lt;tag&gt;</c> and
/// <c>blobs/sha256-&lt;hex&gt;</c>. Pointing it at Ollama's models folder works both ways.
/// </summary>
/// <remarks>
/// Safety rules. Blobs are written to a temporary file in <c>blobs/</c>, hashed while written, and renamed
/// to their digest; an existing blob with the same digest is kept (deduplication). A manifest is written to a
/// temporary file and renamed over the old one, only after every blob it names is in place, so a failure at
/// any point leaves the previous state. Writers (create, quantize, cp) hold a shared lock on
/// <c>.quanta.lock</c> while they work; garbage collection takes it exclusively, so it can never delete a blob
/// that a create in progress has written but not yet referenced. Small blobs are checked against their digest
/// every time they are read; model blobs whenever their bytes feed a new model.
/// </remarks>
public sealed class ModelStore
{
    public const string ModelsVariable = "QUANTA_MODELS";
    const string TempPrefix = ".quanta-";
    // Temporary names start with TempPrefix: ".quanta-blob.<hex>.tmp", and the GGUF writer's "..quanta-blob.<hex>.tmp.<hex>.tmp".
    const string TempBlobName = "quanta-blob";
    const string LockFileName = ".quanta.lock";

    /// <summary>Blobs this size or smaller are read whole and verified on every read.</summary>
    internal const long SmallBlobLimit = 16 << 20;

    public ModelStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        BlobsDirectory = Path.Combine(Root, "blobs");
        ManifestsDirectory = Path.Combine(Root, "manifests");
    }

    /// <summary><c>$QUANTA_MODELS</c>, or <c>~/.quanta/models</c>.</summary>
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable(ModelsVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".quanta", "models");

    public string Root { get; }

    public string BlobsDirectory { get; }

    public string ManifestsDirectory { get; }

    /// <summary>Called before every step that writes; a test throws from it to simulate a crash or a full disk.</summary>
    internal Action<StoreStep>? FaultInjector { get; set; }

    internal void Step(StoreStep step) => FaultInjector?.Invoke(step);

    public string BlobPath(string digest) => Path.Combine(BlobsDirectory, Digests.FileName(digest));

    // ---------------------------------------------------------------- locks

    /// <summary>
    /// The shared lock writers hold for the whole of a create: many at once, but never during a garbage
    /// collection. Waits for a collection in progress to end.
    /// </summary>
    public IDisposable EnterWriter(CancellationToken cancellationToken = default)
    {
        EnsureDirectories();
        while (true)
        {
            if (TryLock(FileShare.ReadWrite) is { } handle)
            {
                return handle;
            }
            cancellationToken.WaitHandle.WaitOne(20);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The exclusive lock of a garbage collection, or null if writers are still at work after <paramref name="wait"/>.</summary>
    public IDisposable? TryEnterCollector(TimeSpan wait)
    {
        EnsureDirectories();
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (TryLock(FileShare.None) is { } handle)
            {
                return handle;
            }
            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }
            Thread.Sleep(20);
        }
    }

    // .NET takes flock(LOCK_SH) for a shared FileShare and flock(LOCK_EX) for FileShare.None, without waiting;
    // a conflict shows up as an IOException (sharing violation).
    FileStream? TryLock(FileShare share)
    {
        try
        {
            return new FileStream(Path.Combine(Root, LockFileName), FileMode.OpenOrCreate, share == FileShare.None ? FileAccess.ReadWrite : FileAccess.Read, share);
        }
        catch (IOException)
        {
            return null;
        }
    }

    void EnsureDirectories()
    {
        Directory.CreateDirectory(BlobsDirectory);
        Directory.CreateDirectory(ManifestsDirectory);
    }

    // ---------------------------------------------------------------- blobs

    /// <summary>
    /// A temporary path in <c>blobs/</c> (same file system as the blobs, so the final rename is atomic), named
    /// by <see cref="TemporaryFiles"/>, which first sweeps away what a killed writer left there an hour ago or more.
    /// </summary>
    public string NewTempPath()
    {
        EnsureDirectories();
        TemporaryFiles.RemoveStale(BlobsDirectory);
        return TemporaryFiles.PathFor(Path.Combine(BlobsDirectory, TempBlobName));
    }

    /// <summary>Stores <paramref name="content"/> as a blob (small layers: text, JSON).</summary>
    public StoredBlob AddBlob(ReadOnlySpan<byte> content)
    {
        Step(StoreStep.BlobWrite);
        var digest = Digests.Of(content);
        if (TryExisting(digest, content.Length) is { } existing)
        {
            return existing;
        }
        var temp = NewTempPath();
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            return Publish(temp, digest, content.Length);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Copies a file into the store in one pass, hashing while it copies. The copy (not the source, which may
    /// change meanwhile) is what gets named by the digest.
    /// </summary>
    public StoredBlob ImportFile(string path, CancellationToken cancellationToken = default)
    {
        Step(StoreStep.BlobWrite);
        var temp = NewTempPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan))
            using (var target = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = source.Length,
            }))
            {
                var buffer = new byte[4 << 20];
                int n;
                while ((n = source.Read(buffer)) > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    target.Write(buffer, 0, n);
                    hash.AppendData(buffer, 0, n);
                    size += n;
                }
                target.Flush(flushToDisk: true);
            }
            return Publish(temp, Digests.FromHash(hash.GetHashAndReset()), size);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Names a complete temporary file (from <see cref="NewTempPath"/>) by the digest its writer computed.
    /// The temporary file is gone afterwards, renamed or (when the blob already exists) deleted.
    /// </summary>
    public StoredBlob CommitTempFile(string tempPath, string digest)
    {
        try
        {
            return TryExisting(digest, new FileInfo(tempPath).Length) ?? Publish(tempPath, digest, new FileInfo(tempPath).Length);
        }
        finally
        {
            TryDelete(tempPath);
        }
    }

    StoredBlob? TryExisting(string digest, long size)
    {
        var info = new FileInfo(BlobPath(digest));
        // A blob of the wrong size is damaged: the fresh copy replaces it.
        return info.Exists && info.Length == size ? new StoredBlob(digest, size, Existed: true) : null;
    }

    StoredBlob Publish(string temp, string digest, long size)
    {
        Step(StoreStep.BlobRename);
        var target = BlobPath(digest);
        if (TryExisting(digest, size) is { } existing)
        {
            return existing;
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        // Same content, same name: if another writer renamed its copy first, replacing it changes nothing.
        File.Move(temp, target, overwrite: true);
        return new StoredBlob(digest, size, Existed: false);
    }

    /// <summary>Reads a small blob whole and checks it against its digest.</summary>
    /// <exception cref="CorruptBlobException">Missing, or its bytes no longer match the digest.</exception>
    public byte[] ReadBlob(ManifestLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var path = BlobPath(layer.Digest);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CorruptBlobException($"blob {layer.Digest} ({layer.MediaType}) is missing from {BlobsDirectory}", e);
        }
        var actual = Digests.Of(bytes);
        if (!actual.Equals(layer.Digest, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(layer, $"its content hashes to {actual}");
        }
        return bytes;
    }

    /// <summary>Checks a blob's size (cheap; every use) or its whole content (<paramref name="full"/>).</summary>
    /// <exception cref="CorruptBlobException">Missing, wrong size, or content that no longer matches the digest.</exception>
    public void VerifyBlob(ManifestLayer layer, bool full = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var info = new FileInfo(BlobPath(layer.Digest));
        if (!info.Exists)
        {
            throw new CorruptBlobException($"blob {layer.Digest} ({layer.MediaType}) is missing from {BlobsDirectory}");
        }
        if (info.Length != layer.Size)
        {
            throw Corrupt(layer, $"it is {info.Length} bytes where the manifest says {layer.Size}");
        }
        if (!full)
        {
            return;
        }
        var actual = HashFile(info.FullName, cancellationToken);
        if (!actual.Equals(layer.Digest, StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt(layer, $"its content hashes to {actual}");
        }
    }

    CorruptBlobException Corrupt(ManifestLayer layer, string why) =>
        new($"blob {layer.Digest} ({layer.MediaType}) is corrupt: {why}; remove the models that use it and create them again");

    internal static string HashFile(string path, CancellationToken cancellationToken = default)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4 << 20];
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(buffer, 0, n);
        }
        return Digests.FromHash(hash.GetHashAndReset());
    }

    // ---------------------------------------------------------------- manifests

    /// <summary>
    /// The manifest path of <paramref name="name"/>: the existing one if a manifest matches ignoring case
    /// (Ollama's names are case-insensitive), otherwise the path the name spells.
    /// </summary>
    public string ManifestPath(ModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var directory = ManifestsDirectory;
        foreach (var part in name.PathParts)
        {
            var exact = Path.Combine(directory, part);
            if (Path.Exists(exact) || !Directory.Exists(directory))
            {
                directory = exact;
                continue;
            }
            var match = Directory.EnumerateFileSystemEntries(directory)
                .FirstOrDefault(e => Path.GetFileName(e).Equals(part, StringComparison.OrdinalIgnoreCase));
            directory = match ?? exact;
        }
        return directory;
    }

    /// <summary>The model's manifest, or null if there is no such model.</summary>
    public Manifest? TryGetManifest(ModelName name)
    {
        var path = ManifestPath(name);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException && !File.Exists(path))
        {
            return null;
        }
        return Manifest.FromJson(bytes, path);
    }

    /// <exception cref="ModelNotFoundException">No such model (Ollama's wording).</exception>
    public Manifest GetManifest(ModelName name) =>
        TryGetManifest(name) ?? throw new ModelNotFoundException($"model '{name.DisplayShortest}' not found");

    /// <summary>The model's config, verified against its digest.</summary>
    public ModelConfig GetConfig(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return ModelConfig.FromJson(ReadBlob(manifest.Config), manifest.Config.Digest);
    }

    /// <summary>Writes the manifest atomically, after checking that every blob it names is in the store.</summary>
    public void WriteManifest(ModelName name, Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var layer in manifest.Blobs)
        {
            VerifyBlob(layer, full: false);
        }
        Step(StoreStep.ManifestWrite);
        var target = ManifestPath(name);
        var temp = NewTempPath();
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(manifest.ToJson());
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            Step(StoreStep.ManifestRename);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Every model, newest first (as <c>ollama list</c> orders them). Files that are not valid names or manifests are skipped.</summary>
    public IReadOnlyList<StoredModelInfo> List()
    {
        var models = new List<StoredModelInfo>();
        if (!Directory.Exists(ManifestsDirectory))
        {
            return models;
        }
        foreach (var host in Directory.EnumerateDirectories(ManifestsDirectory))
        {
            foreach (var ns in Directory.EnumerateDirectories(host))
            {
                foreach (var model in Directory.EnumerateDirectories(ns))
                {
                    foreach (var tag in Directory.EnumerateFiles(model))
                    {
                        var text = $"{Path.GetFileName(host)}/{Path.GetFileName(ns)}/{Path.GetFileName(model)}:{Path.GetFileName(tag)}";
                        if (!ModelName.TryParse(text, out var name))
                        {
                            continue;
                        }
                        try
                        {
                            var bytes = File.ReadAllBytes(tag);
                            var manifest = Manifest.FromJson(bytes, tag);
                            models.Add(new StoredModelInfo(name!, Digests.Of(bytes), manifest.TotalSize, File.GetLastWriteTimeUtc(tag)));
                        }
                        catch (Exception e) when (e is StoreException or IOException)
                        {
                            // A manifest being replaced right now, or not one of ours: not a model to list.
                        }
                    }
                }
            }
        }
        return [.. models.OrderByDescending(m => m.ModifiedAt).ThenBy(m => m.Name.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>Copies a model under a new name: a new manifest naming the same blobs.</summary>
    public void Copy(ModelName source, ModelName destination)
    {
        using var writer = EnterWriter();
        var manifest = GetManifest(source);
        WriteManifest(destination, manifest);
    }

    /// <summary>
    /// Removes the model's manifest, then the blobs no other manifest names. Returns the blobs deleted, or
    /// null when other writers kept the store busy and the collection was left for later.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public IReadOnlyList<string>? Remove(ModelName name)
    {
        var path = ManifestPath(name);
        if (!File.Exists(path))
        {
            throw new ModelNotFoundException($"model '{name.DisplayShortest}' not found");
        }
        File.Delete(path);
        // Empty model, namespace and host directories go too, as Ollama removes them.
        var directory = Path.GetDirectoryName(path);
        for (var i = 0; i < 3 && directory is not null && !Path.GetFullPath(directory).Equals(ManifestsDirectory, StringComparison.Ordinal); i++)
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
            directory = Path.GetDirectoryName(directory);
        }
        return CollectGarbage();
    }

    /// <summary>
    /// Deletes every blob no manifest names, and temporary files left by interrupted writes, under the
    /// exclusive lock. Null when writers held the store for more than a few seconds.
    /// </summary>
    public IReadOnlyList<string>? CollectGarbage(IReadOnlyCollection<string>? only = null)
    {
        using var collector = TryEnterCollector(TimeSpan.FromSeconds(only is null ? 5 : 0));
        if (collector is null)
        {
            return null;
        }
        var referenced = ReferencedDigests();
        var deleted = new List<string>();
        if (!Directory.Exists(BlobsDirectory))
        {
            return deleted;
        }
        foreach (var file in Directory.EnumerateFiles(BlobsDirectory))
        {
            var fileName = Path.GetFileName(file);
            if (fileName.StartsWith(TempPrefix, StringComparison.Ordinal) || fileName.StartsWith("." + TempPrefix, StringComparison.Ordinal))
            {
                // Nobody writes while the exclusive lock is held: this is a leftover of a crash.
                if (only is null)
                {
                    TryDelete(file);
                }
                continue;
            }
            var digest = fileName.Replace('-', ':');
            if (!Digests.IsValid(digest) || referenced.Contains(digest.ToLowerInvariant()))
            {
                continue;
            }
            if (only is not null && !only.Contains(digest, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            TryDelete(file);
            deleted.Add(digest);
        }
        return deleted;
    }

    HashSet<string> ReferencedDigests()
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(ManifestsDirectory))
        {
            return referenced;
        }
        foreach (var file in Directory.EnumerateFiles(ManifestsDirectory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            Manifest manifest;
            try
            {
                manifest = Manifest.FromJson(File.ReadAllBytes(file), file);
            }
            catch (Exception e) when (e is StoreException or IOException)
            {
                // Not a manifest we can read; its blobs (if any) cannot be known, so be careful: keep
                // everything by giving up on this collection.
                throw new StoreException($"cannot collect unused blobs: {file} is not a readable manifest ({e.Message})", e);
            }
            foreach (var layer in manifest.Blobs)
            {
                referenced.Add(layer.Digest.ToLowerInvariant().Replace('-', ':'));
            }
        }
        return referenced;
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is collected later.
        }
    }
}
