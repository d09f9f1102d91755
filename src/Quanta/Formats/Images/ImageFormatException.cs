namespace Quanta.Formats.Images;

/// <summary>A file or byte string that is not a picture Quanta can decode, or one too large to decode.</summary>
public sealed class ImageFormatException : FileFormatException
{
    public ImageFormatException(string message)
        : base(message)
    {
    }

    public ImageFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImageFormatException()
    {
    }
}
