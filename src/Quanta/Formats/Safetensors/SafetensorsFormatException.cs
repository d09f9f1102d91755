namespace Quanta.Formats.Safetensors;

/// <summary>
/// A safetensors file (or a sharded checkpoint's index) that is not what it should be. The message names the
/// file, the byte offset and what was expected, so a truncated download reads differently from a bad writer.
/// </summary>
public sealed class SafetensorsFormatException : Exception
{
    public SafetensorsFormatException()
    {
    }

    public SafetensorsFormatException(string message)
        : base(message)
    {
    }

    public SafetensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SafetensorsFormatException(string? file, long offset, string message, Exception? innerException = null)
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
