namespace Quanta.Formats;

/// <summary>
/// A file Quanta reads that is not what it should be. The message names the file, the byte offset (when the fault
/// has one) and what was expected: <c>file: at byte N: message</c>, or <c>file: message</c> without an offset.
/// </summary>
public abstract class FileFormatException : Exception
{
    protected FileFormatException()
    {
    }

    protected FileFormatException(string message)
        : base(message)
    {
    }

    protected FileFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    protected FileFormatException(string? file, long offset, string message, Exception? innerException = null)
        : base(Describe(file, offset, message), innerException)
    {
        File = file;
        Offset = offset;
    }

    /// <summary>The file at fault, when known.</summary>
    public string? File { get; }

    /// <summary>Byte offset of the fault in <see cref="File"/>; −1 when the fault has no single position.</summary>
    public long Offset { get; } = -1;

    static string Describe(string? file, long offset, string message)
    {
        var where = file is null ? "" : $"{file}: ";
        return offset >= 0 ? $"{where}at byte {offset}: {message}" : $"{where}{message}";
    }
}
