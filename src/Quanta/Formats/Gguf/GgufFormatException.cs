namespace Quanta.Formats.Gguf;

/// <summary>
/// A GGUF file that is not what it should be. The message names the file, the byte offset and what was
/// expected, so a user can tell a truncated download from a file another tool wrote wrongly.
/// </summary>
public sealed class GgufFormatException : FileFormatException
{
    public GgufFormatException()
    {
    }

    public GgufFormatException(string message)
        : base(message)
    {
    }

    public GgufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GgufFormatException(string? file, long offset, string message, Exception? innerException = null)
        : base(file, offset, message, innerException)
    {
    }
}
