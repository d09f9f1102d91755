using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Quanta.Store;

/// <summary>
/// The blobs whose whole content was hashed and found to match their digest, remembered by size and
/// modification time in <c>.quanta.verified</c> at the store root, so that a multi-gigabyte model is read in
/// full once, not on every <c>create</c> or <c>cp</c> that reuses it. A blob rewritten in any way gets a new
/// modification time and is hashed again.
/// </summary>
/// <remarks>
/// The file is a cache, never the truth: one line per blob (<c>sha256:&lt;hex&gt; &lt;size&gt; &lt;mtime ticks&gt;</c>),
/// replaced atomically; unreadable lines are ignored, and two processes that update it at once lose at most
/// an entry, which only costs a later re-hash. Ollama does not read the store root's other files.
/// </remarks>
internal sealed class VerifiedBlobs(string root)
{
    public const string FileName = ".quanta.verified";

    readonly string _path = Path.Combine(root, FileName);
    readonly Lock _lock = new();

    /// <summary>Whether <paramref name="blob"/> was verified with exactly its current size and modification time.</summary>
    public bool Contains(string digest, FileInfo blob)
    {
        lock (_lock)
        {
            return Load().TryGetValue(digest.ToLowerInvariant(), out var entry) && entry == Key(blob);
        }
    }

    /// <summary>Remembers that <paramref name="blob"/>, as it is now, hashes to <paramref name="digest"/>.</summary>
    public void Add(string digest, FileInfo blob)
    {
        blob.Refresh();
        Update(entries => entries[digest.ToLowerInvariant()] = Key(blob));
    }

    public void Remove(string digest) => Update(entries => entries.Remove(digest.ToLowerInvariant()));

    static (long Size, long Modified) Key(FileInfo blob) => (blob.Length, blob.LastWriteTimeUtc.Ticks);

    void Update(Action<Dictionary<string, (long, long)>> change)
    {
        lock (_lock)
        {
            // Read again just before writing, to keep what other processes added meanwhile.
            var entries = Load();
            change(entries);
            var sb = new StringBuilder();
            foreach (var (digest, (size, modified)) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                sb.Append(CultureInfo.InvariantCulture, $"{digest} {size} {modified}\n");
            }
            var temp = _path + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) + ".tmp";
            try
            {
                File.WriteAllText(temp, sb.ToString());
                File.Move(temp, _path, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only store still works; it only verifies again next time.
            }
            finally
            {
                try
                {
                    File.Delete(temp);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Nothing was written.
                }
            }
        }
    }

    Dictionary<string, (long, long)> Load()
    {
        var entries = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return entries;
        }
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && Digests.IsValid(parts[0])
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var modified))
            {
                entries[parts[0]] = (size, modified);
            }
        }
        return entries;
    }
}
