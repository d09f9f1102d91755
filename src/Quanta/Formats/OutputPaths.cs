namespace Quanta.Formats;

/// <summary>
/// Guards the "the input is never the output" rule: an output path is compared with every input after both
/// are made absolute and every symbolic link along them is followed, so <c>out.gguf -> model.gguf</c> or a
/// linked directory does not slip through.
/// </summary>
internal static class OutputPaths
{
    // Linux gives up after 40 links (ELOOP); so do we, keeping the path as far as it resolved.
    const int MaxLinkDepth = 40;

    static StringComparison PathComparison => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
        ? StringComparison.OrdinalIgnoreCase
        : StringComparison.Ordinal;

    /// <summary>Compares resolved paths as the platform's usual file system does (case-insensitive on Windows and macOS).</summary>
    public static StringComparer Comparer => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
        ? StringComparer.OrdinalIgnoreCase
        : StringComparer.Ordinal;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="output"/> names the same file as one of <paramref name="inputs"/>.</summary>
    public static void ThrowIfInput(string output, IEnumerable<string> inputs, string paramName)
    {
        var resolvedOutput = Resolve(output);
        foreach (var input in inputs)
        {
            if (string.Equals(resolvedOutput, Resolve(input), PathComparison))
            {
                throw new ArgumentException($"refusing to write '{output}': it is one of the inputs ('{input}')", paramName);
            }
        }
    }

    /// <summary>Are two paths the same file once made absolute and their links followed?</summary>
    public static bool SameFile(string a, string b) => string.Equals(Resolve(a), Resolve(b), PathComparison);

    /// <summary>The absolute path with every symbolic link along it followed; parts that do not exist are kept as written.</summary>
    public static string Resolve(string path) => Resolve(path, 0);

    static string Resolve(string path, int depth)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "";
        var parts = full[root.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        var current = root;
        foreach (var part in parts)
        {
            var next = Path.Combine(current, part);
            current = next;
            if (depth >= MaxLinkDepth)
            {
                continue;
            }
            try
            {
                FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
                if (info.LinkTarget is { } target)
                {
                    // A relative target is relative to the directory holding the link, which is already resolved.
                    var targetPath = Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(next) ?? root, target);
                    current = Resolve(targetPath, depth + 1);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable link is compared as written; the write itself will report the real problem.
            }
        }
        return current;
    }
}
