namespace Quanta.Formats;

/// <summary>
/// The length of the file a path leads to. <c>new FileInfo(path).Length</c> describes a symbolic link itself (its
/// target's name), not the file it points to, so a model reached through a link looked a few bytes long.
/// </summary>
public static class FileLength
{
    public static long Of(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return RandomAccess.GetLength(handle);
    }
}
