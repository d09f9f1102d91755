using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Quanta.Formats;

/// <summary>
/// The one owner of the temporary files Quanta writes beside its outputs (GGUF and safetensors files, the
/// store's blobs): how they are named, how they are created, and how the ones a dead process left behind are
/// recognised and swept away.
/// </summary>
/// <remarks>
/// A temporary file is <c>.&lt;target name&gt;.&lt;16 hex digits&gt;.tmp</c> in the target's directory: the same
/// file system, so the final rename is atomic; a leading dot keeps a half-written model out of listings and
/// model pickers; 64 random bits make a collision with another writer negligible (and
/// <see cref="FileMode.CreateNew"/> refuses one anyway). A process killed with SIGKILL or by a power cut cannot
/// delete its file, so every writer first sweeps its directory (<see cref="RemoveStale"/>): a file is removed
/// only when its name has exactly this shape, its last write is older than <see cref="StaleAfter"/>, and no
/// process holds it open (a writer keeps its file locked until it is renamed). Other tools' files never have
/// this shape: Ollama's downloads are <c>sha256-&lt;hex&gt;-partial</c> and <c>-partial-N</c>, its uploads
/// <c>sha256-&lt;digits&gt;</c>. A process that is about to be ended without its cleanup running (a second
/// Ctrl+C) deletes the temporary files it still has with <see cref="DeleteInProgress"/>.
/// </remarks>
public static partial class TemporaryFiles
{
    /// <summary>
    /// How old a leftover must be before a sweep removes it. A live writer touches its file every few
    /// milliseconds, so an hour of silence means its process is gone.
    /// </summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);

    const string Suffix = ".tmp";

    // The temporary paths this process has handed out and not yet seen renamed or deleted.
    static readonly ConcurrentDictionary<string, byte> InProgress = new();

    // What PathFor names, and the blob temporaries of Quanta versions before it (".quanta-<hex>.partial").
    [GeneratedRegex(@"^(\..+\.[0-9a-f]{16}\.tmp|\.quanta-[0-9a-f]{16}\.partial)$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>
    /// A fresh temporary path beside <paramref name="target"/> (made absolute); nothing is created. The path is
    /// remembered for <see cref="DeleteInProgress"/> until <see cref="Forget"/> or <see cref="TryDelete"/>.
    /// </summary>
    internal static string PathFor(string target)
    {
        var full = Path.GetFullPath(target);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{full}' has no directory", nameof(target));
        var path = Path.Combine(directory, $".{Path.GetFileName(full)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}{Suffix}");
        Remember(path);
        return path;
    }

    /// <summary>The temporary file is gone (renamed to its target): nothing to delete at an abrupt end.</summary>
    internal static void Forget(string path) => InProgress.TryRemove(path, out _);

    /// <summary>
    /// Deletes every temporary file this process has started and not yet renamed or deleted: the last thing a
    /// process does before it is ended without its normal cleanup (a second Ctrl+C). Writers still holding a
    /// file keep writing to a file that no longer has a name, which is harmless since the process is ending.
    /// </summary>
    /// <returns>How many files were deleted.</returns>
    public static int DeleteInProgress()
    {
        var deleted = 0;
        foreach (var path in InProgress.Keys)
        {
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                    deleted++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left to the sweep of a later run.
            }
            InProgress.TryRemove(path, out _);
        }
        return deleted;
    }

    static void Remember(string path)
    {
        // A path renamed by code that does not call Forget (the store renames its own) would stay listed; a
        // long-lived process drops those that no longer exist now and then.
        if (InProgress.Count >= 1024)
        {
            foreach (var stale in InProgress.Keys.Where(p => !File.Exists(p)))
            {
                InProgress.TryRemove(stale, out _);
            }
        }
        InProgress[path] = 0;
    }

    /// <summary>
    /// Does <paramref name="fileName"/> (a name, not a path) have the shape of a file <see cref="PathFor"/> names
    /// (or of the store's blob temporaries before it)?
    /// </summary>
    internal static bool IsTemporary(string fileName) => NamePattern().IsMatch(fileName);

    /// <summary>
    /// Sweeps the target's directory (<see cref="RemoveStale"/>), then creates a new temporary file beside
    /// <paramref name="target"/> for writing, locked against other processes until it is closed.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The target's directory does not exist; the message names it.</exception>
    internal static (string Path, FileStream Stream) Create(string target, int bufferSize, long preallocationSize = 0)
    {
        var full = Path.GetFullPath(target);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{full}' has no directory", nameof(target));
        ThrowIfDirectoryMissing(target);
        RemoveStale(directory);
        var path = PathFor(full);
        try
        {
            var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                // FileShare.None takes flock(LOCK_EX) on Unix: a sweep in another process leaves the file alone.
                Share = FileShare.None,
                BufferSize = bufferSize,
                // Reserving the space up front makes a full disk fail now rather than after minutes of work.
                PreallocationSize = preallocationSize,
            });
            return (path, stream);
        }
        catch (DirectoryNotFoundException)
        {
            Forget(path);
            // Removed between the check and the creation: report the directory, not our temporary name.
            ThrowIfDirectoryMissing(target);
            throw;
        }
        catch
        {
            Forget(path);
            throw;
        }
    }

    /// <summary>
    /// Holds a finished temporary file locked, without a buffer, until it is renamed: the sweep of another
    /// process must not take a file that is complete but waits for the rest of its set.
    /// </summary>
    internal static FileStream Lock(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.None, bufferSize: 0);

    /// <summary>Deletes a temporary file; best effort (a leftover is swept later).</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            Forget(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing better to do with a temporary file we cannot delete than leave it to a later sweep.
        }
    }

    /// <summary>
    /// Removes the temporary files of dead processes from <paramref name="directory"/>: names of
    /// <see cref="PathFor"/>'s shape, last written more than <see cref="StaleAfter"/> before <paramref name="now"/>
    /// (default: the current time), that no process holds open. Never throws: a sweep must not stop a write.
    /// </summary>
    /// <returns>The paths removed.</returns>
    internal static IReadOnlyList<string> RemoveStale(string directory, DateTime? now = null)
    {
        var removed = new List<string>();
        var cutoff = (now ?? DateTime.UtcNow) - StaleAfter;
        try
        {
            var options = new EnumerationOptions { AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles(".*", options))
            {
                if (!IsTemporary(file.Name) || file.LastWriteTimeUtc >= cutoff)
                {
                    continue;
                }
                try
                {
                    // The exclusive lock fails while a live writer has the file open, and deleting on close
                    // (rather than after) leaves no moment in which another sweeper could take it.
                    using (new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose))
                    {
                    }
                    removed.Add(file.FullName);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // In use, or not ours to delete: leave it.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The directory vanished or cannot be listed; the write that follows reports what matters.
        }
        return removed;
    }

    /// <summary>
    /// Refuses a target whose directory does not exist, naming that directory: the error the file system
    /// would give names the temporary file, which the user never asked for.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="target"/> does not exist.</exception>
    internal static void ThrowIfDirectoryMissing(string target)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(target));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"cannot write '{target}': the directory '{directory}' does not exist");
        }
    }
}
