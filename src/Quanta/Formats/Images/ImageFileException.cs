namespace Quanta.Formats.Images;

/// <summary>A file or byte string that is not a picture Quanta can decode, or one too large to decode.</summary>
public sealed class ImageFileException : FileFormatException
{
    public ImageFileException(string message)
        : base(message)
    {
    }

    public ImageFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImageFileException()
    {
    }
}
