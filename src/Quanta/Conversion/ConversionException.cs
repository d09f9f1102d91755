namespace Quanta.Conversion;

/// <summary>
/// A checkpoint that cannot be converted: an architecture Quanta does not know, a config.json without a
/// field the architecture needs, a tensor no GGUF name exists for. The message says which.
/// </summary>
public sealed class ConversionException : Exception
{
    public ConversionException()
    {
    }

    public ConversionException(string message)
        : base(message)
    {
    }

    public ConversionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
