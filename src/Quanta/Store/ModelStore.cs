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
/// every time they are read; model blobs (a full read) whenever their bytes feed a new model (create, cp) and
/// when asked (<see cref="VerifyBlob"/> with <c>rehash</c>), the result remembered by size and modification
/// time (<see cref="VerifiedBlobs"/>). A blob a new manifest reuses is touched, as Ollama touches it, so that a
/// collection's grace period (<see cref="Prune"/>) protects it.
/// </remarks>
public sealed partial class ModelStore
{
    public const string ModelsVariable = "QUANTA_MODELS";
    const string TempPrefix = ".quanta-";
    // Temporary names start with TempPrefix: ".quanta-blob.<hex>.tmp", and the GGUF writer's "..quanta-blob.<hex>.tmp.<hex>.tmp".
    const string TempBlobName = "quanta-blob";
    const string LockFileName = ".quanta.lock";

    /// <summary>Blobs this size or smaller are read whole and verified on every read.</summary>
    internal const long SmallBlobLimit = 16 << 20;

    /// <summary>
    /// Blobs larger than this have their verification remembered (<see cref="VerifiedBlobs"/>); smaller ones
    /// cost less to hash than to look up. Tests lower it to exercise the cache with small files.
    /// </summary>
    internal long VerificationCacheThreshold { get; set; } = SmallBlobLimit;

    public ModelStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        BlobsDirectory = Path.Combine(Root, "blobs");
        ManifestsDirectory = Path.Combine(Root, "manifests");
        _verified = new VerifiedBlobs(Root);
    }

    readonly VerifiedBlobs _verified;

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
            cancellationToken.WaitHandle.WaitOne(LockPollInterval);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// <see cref="EnterWriter"/> for a server: waits for a collection in progress without holding a thread (the lock
    /// file has no waitable handle, so both poll; this one between awaits).
    /// </summary>
    public async ValueTask<IDisposable> EnterWriterAsync(CancellationToken cancellationToken = default)
    {
        EnsureDirectories();
        while (true)
        {
            if (TryLock(FileShare.ReadWrite) is { } handle)
            {
                return handle;
            }
            await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><see cref="TryEnterCollector"/> without holding a thread while writers finish.</summary>
    public async ValueTask<IDisposable?> TryEnterCollectorAsync(TimeSpan wait, CancellationToken cancellationToken = default)
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
            await Task.Delay(LockPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(20);

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
            Thread.Sleep(LockPollInterval);
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
        var state = Existing(digest, content.Length);
        if (state == BlobState.Intact)
        {
            return Reused(digest, content.Length);
        }
        var temp = NewTempPath();
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            return Publish(temp, digest, content.Length, state == BlobState.Corrupt);
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
            var digest = Digests.FromHash(hash.GetHashAndReset());
            var state = Existing(digest, size, cancellationToken);
            return state == BlobState.Intact ? Reused(digest, size) : Publish(temp, digest, size, state == BlobState.Corrupt);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Stores what <paramref name="source"/> holds as a blob that must hash to <paramref name="expectedDigest"/>
    /// (<c>POST /api/blobs/:digest</c>): read without holding a thread, hashed while written to a temporary file,
    /// and named by its digest only when that is the one expected; otherwise nothing is kept.
    /// </summary>
    /// <exception cref="DigestMismatchException">The bytes hash to another digest.</exception>
    public async Task<StoredBlob> ImportStreamAsync(Stream source, string expectedDigest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var expected = Digests.Prefix + Digests.FileName(expectedDigest)["sha256-".Length..];
        Step(StoreStep.BlobWrite);
        var temp = NewTempPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                var target = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous });
                await using (target.ConfigureAwait(false))
                {
                    int n;
                    while ((n = await source.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        await target.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    }
                    target.Flush(flushToDisk: true);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
            var digest = Digests.FromHash(hash.GetHashAndReset());
            if (!digest.Equals(expected, StringComparison.Ordinal))
            {
                throw new DigestMismatchException($"digest mismatch, expected \"{expectedDigest}\", got \"{digest}\"");
            }
            // The writer's lock, so that a collection cannot see the new blob between its rename and a later create.
            using (await EnterWriterAsync(cancellationToken).ConfigureAwait(false))
            {
                return CommitTempFile(temp, digest, cancellationToken);
            }
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>
    /// Names a complete temporary file (from <see cref="NewTempPath"/>) by the digest its writer computed.
    /// The temporary file is gone afterwards, renamed or (when an intact blob already exists) deleted.
    /// </summary>
    public StoredBlob CommitTempFile(string tempPath, string digest, CancellationToken cancellationToken = default)
    {
        try
        {
            var size = new FileInfo(tempPath).Length;
            var state = Existing(digest, size, cancellationToken);
            return state == BlobState.Intact ? Reused(digest, size) : Publish(tempPath, digest, size, state == BlobState.Corrupt);
        }
        finally
        {
            TryDelete(tempPath);
        }
    }

    enum BlobState
    {
        Missing,
        Intact,
        Corrupt,
    }

    /// <summary>
    /// Whether a blob named <paramref name="digest"/> is already there and holds exactly those bytes. A size
    /// check is not enough: a flipped byte keeps the size, and reusing it would point the new model at damaged
    /// data; the content is hashed (once per size and modification time for large blobs).
    /// </summary>
    BlobState Existing(string digest, long size, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(BlobPath(digest));
        if (!info.Exists)
        {
            return BlobState.Missing;
        }
        return info.Length == size && ContentMatches(digest, info, rehash: false, cancellationToken) ? BlobState.Intact : BlobState.Corrupt;
    }

    StoredBlob Reused(string digest, long size)
    {
        Touch(digest);
        return new StoredBlob(digest, size, Existed: true);
    }

    /// <summary>Renames a complete temporary file to its digest; a damaged blob of that name is replaced.</summary>
    StoredBlob Publish(string temp, string digest, long size, bool replacesCorrupt)
    {
        Step(StoreStep.BlobRename);
        var target = BlobPath(digest);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        // Same content, same name: if another writer renamed its copy first, replacing it changes nothing.
        File.Move(temp, target, overwrite: true);
        if (replacesCorrupt)
        {
            _verified.Remove(digest);
        }
        return new StoredBlob(digest, size, Existed: false, ReplacedCorrupt: replacesCorrupt);
    }

    /// <summary>
    /// Sets the blob's modification time to now, as Ollama's <c>touchLayer</c> does for every layer a new
    /// manifest uses (manifest/layer.go): a collection's grace period then protects a blob that is about to be
    /// referenced again. Best effort: a blob owned by another user keeps its time.
    /// </summary>
    public void Touch(string digest)
    {
        var info = new FileInfo(BlobPath(digest));
        if (!info.Exists)
        {
            return;
        }
        var wasVerified = info.Length > VerificationCacheThreshold && _verified.Contains(digest, info);
        try
        {
            var now = DateTime.UtcNow;
            File.SetLastWriteTimeUtc(info.FullName, now);
            File.SetLastAccessTimeUtc(info.FullName, now);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        if (wasVerified)
        {
            // Touching is not a change of content: keep the verification.
            _verified.Add(digest, info);
        }
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

    /// <summary>
    /// Checks a blob's size (cheap; every use) or its whole content (<paramref name="full"/>). A large blob whose
    /// content was verified before with the same size and modification time is not read again unless
    /// <paramref name="rehash"/> asks for it (<c>quanta verify</c>).
    /// </summary>
    /// <exception cref="CorruptBlobException">Missing, wrong size, or content that no longer matches the digest.</exception>
    public void VerifyBlob(ManifestLayer layer, bool full = true, CancellationToken cancellationToken = default, bool rehash = false)
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
        if (full && !ContentMatches(layer.Digest, info, rehash, cancellationToken, out var actual))
        {
            throw Corrupt(layer, $"its content hashes to {actual}");
        }
    }

    bool ContentMatches(string digest, FileInfo info, bool rehash, CancellationToken cancellationToken) =>
        ContentMatches(digest, info, rehash, cancellationToken, out _);

    bool ContentMatches(string digest, FileInfo info, bool rehash, CancellationToken cancellationToken, out string actual)
    {
        var cached = info.Length > VerificationCacheThreshold;
        if (cached && !rehash && _verified.Contains(digest, info))
        {
            actual = digest;
            return true;
        }
        actual = HashFile(info.FullName, cancellationToken);
        var matches = actual.Equals(digest, StringComparison.OrdinalIgnoreCase);
        if (matches && cached)
        {
            _verified.Add(digest, info);
        }
        else if (!matches)
        {
            _verified.Remove(digest);
        }
        return matches;
    }

    /// <summary>
    /// Hashes every blob of the model (config and layers) in full, whatever was remembered before, and says for
    /// each whether it matches its digest; the results are remembered for later reuse (<c>quanta verify</c>,
    /// <c>show --verify</c>).
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    public IReadOnlyList<LayerCheck> VerifyModel(ModelName name, CancellationToken cancellationToken = default)
    {
        var checks = new List<LayerCheck>();
        foreach (var layer in GetManifest(name).Blobs)
        {
            try
            {
                VerifyBlob(layer, full: true, cancellationToken, rehash: true);
                checks.Add(new LayerCheck(layer, null));
            }
            catch (CorruptBlobException e)
            {
                checks.Add(new LayerCheck(layer, e.Message));
            }
        }
        return checks;
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
    public Manifest? TryGetManifest(ModelName name) => TryReadManifest(name, out _);

    Manifest? TryReadManifest(ModelName name, out byte[] bytes)
    {
        var path = ManifestPath(name);
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException && !File.Exists(path))
        {
            bytes = [];
            return null;
        }
        return Manifest.FromJson(bytes, path);
    }

    /// <exception cref="ModelNotFoundException">No such model (Ollama's wording).</exception>
    public Manifest GetManifest(ModelName name) =>
        TryGetManifest(name) ?? throw new ModelNotFoundException($"model '{name.DisplayShortest}' not found");

    /// <summary>The model's config, verified against its digest; an empty config digest (Ollama writes some) is an empty config, as Ollama reads it.</summary>
    public ModelConfig GetConfig(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.Config.Digest.Length == 0
            ? new ModelConfig { ModelFormat = "", Architecture = "", OS = "" }
            : ModelConfig.FromJson(ReadBlob(manifest.Config), manifest.Config.Digest);
    }

    /// <summary>Writes the manifest atomically, after checking that every blob it names is in the store.</summary>
    public void WriteManifest(ModelName name, Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        WriteManifest(name, manifest, manifest.ToJson());
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> (the JSON of <paramref name="manifest"/>) as the model's manifest, after
    /// checking that every blob it names is there and touching each (Ollama's touchLayer), so that a collection's
    /// grace period also protects the blobs a new manifest reuses.
    /// </summary>
    void WriteManifest(ModelName name, Manifest manifest, byte[] bytes)
    {
        foreach (var layer in manifest.Blobs)
        {
            VerifyBlob(layer, full: false);
            Touch(layer.Digest);
        }
        Step(StoreStep.ManifestWrite);
        var target = ManifestPath(name);
        var temp = NewTempPath();
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
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

    /// <summary>
    /// Copies a model under a new name: the source's manifest, byte for byte as Ollama's <c>CopyModel</c> copies
    /// it, once every blob it names has been verified in full (a corrupt layer is reported, never passed on).
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model.</exception>
    /// <exception cref="CorruptBlobException">A layer is missing or damaged.</exception>
    public void Copy(ModelName source, ModelName destination, CancellationToken cancellationToken = default)
    {
        using var writer = EnterWriter(cancellationToken);
        var manifest = TryReadManifest(source, out var bytes) ?? throw new ModelNotFoundException($"model '{source.DisplayShortest}' not found");
        foreach (var layer in manifest.Blobs)
        {
            VerifyBlob(layer, full: true, cancellationToken);
        }
        WriteManifest(destination, manifest, bytes);
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
