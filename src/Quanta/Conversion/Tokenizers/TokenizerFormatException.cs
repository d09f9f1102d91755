using Quanta.Formats;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// A tokenizer file (<c>tokenizer.model</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c>) that cannot be
/// imported: malformed bytes, a field of the wrong kind, or a configuration llama.cpp's converter would refuse.
/// The message names the file and, for binary files, the byte offset.
/// </summary>
public sealed class TokenizerFormatException : FileFormatException
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
        : base(file, offset, message, innerException)
    {
    }
}
