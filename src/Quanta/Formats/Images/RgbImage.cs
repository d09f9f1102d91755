namespace Quanta.Formats.Images;

/// <summary>
/// An 8-bit RGB picture, rows top to bottom, pixels left to right, three bytes each (llama.cpp's
/// <c>clip_image_u8</c>): what every vision preprocessor starts from.
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.LongLength != 3L * width * height)
        {
            throw new ArgumentException($"{pixels.Length} bytes are not {width} × {height} RGB pixels", nameof(pixels));
        }
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>R, G, B of pixel (x, y) at <c>3·(y·Width + x)</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>A picture of one colour.</summary>
    public static RgbImage Filled(int width, int height, byte red, byte green, byte blue)
    {
        var pixels = new byte[3L * width * height];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = red;
            pixels[i + 1] = green;
            pixels[i + 2] = blue;
        }
        return new RgbImage(width, height, pixels);
    }
}
