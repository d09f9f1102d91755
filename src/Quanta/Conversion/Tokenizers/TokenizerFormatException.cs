namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// A tokenizer file (<c>tokenizer.model</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c>) that cannot be
/// imported: malformed bytes, a field of the wrong kind, or a configuration llama.cpp's converter would refuse.
/// The message names the file and, for binary files, the byte offset.
/// </summary>
public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException()
    {
    }

    public TokenizerFormatException(string message)
        : base(message)
    {
    }

    public TokenizerFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TokenizerFormatException(string? file, long offset, string message, Exception? innerException = null)
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
