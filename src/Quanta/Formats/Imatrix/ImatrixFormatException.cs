namespace Quanta.Formats.Imatrix;

/// <summary>
/// An importance-matrix file (llama.cpp's legacy <c>.dat</c> or its GGUF imatrix) that is not what it should be:
/// the message names the file, the byte offset when there is one, and what was expected.
/// </summary>
public sealed class ImatrixFormatException : FileFormatException
{
    public ImatrixFormatException()
    {
    }

    public ImatrixFormatException(string message)
        : base(message)
    {
    }

    public ImatrixFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImatrixFormatException(string? file, long offset, string message, Exception? innerException = null)
        : base(file, offset, message, innerException)
    {
    }
}
