namespace Quanta.Formats.Safetensors;

/// <summary>
/// A safetensors file (or a sharded checkpoint's index) that is not what it should be. The message names the
/// file, the byte offset and what was expected, so a truncated download reads differently from a bad writer.
/// </summary>
public sealed class SafetensorsFormatException : FileFormatException
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
        : base(file, offset, message, innerException)
    {
    }
}
