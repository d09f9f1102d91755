using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Quanta.Formats.Images;

/// <summary>
/// PNG, JPEG, WebP, BMP and GIF (its first frame) to <see cref="RgbImage"/>, with SixLabors.ImageSharp 2.1.
/// The picture's size is read from its header and checked before a single pixel is decoded (ImageSharp's
/// published advisories are about crafted files that make it allocate or loop: a header that claims
/// 30,000 × 30,000 pixels is refused here, before any buffer exists). The EXIF orientation is applied, as
/// Ollama's and Hugging Face's loaders do; alpha is dropped (llama.cpp's <c>stbi_load(…, 3)</c>).
/// </summary>
public static class ImageDecoder
{
    /// <summary>Largest picture decoded: 64 megapixels (192 MiB of RGB), far beyond any vision tower's input.</summary>
    public const long MaxPixels = 8192L * 8192;

    /// <summary>Largest encoded file read.</summary>
    public const long MaxFileBytes = 256L << 20;

    // Only the five formats the vision path accepts (no TGA, TIFF, PBM), and GIF's first frame only.
    static readonly Configuration Formats = CreateConfiguration();

    static Configuration CreateConfiguration()
    {
        var configuration = new Configuration(
            new PngConfigurationModule(), new JpegConfigurationModule(), new GifConfigurationModule(),
            new BmpConfigurationModule(), new WebpConfigurationModule());
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    /// <summary>Decodes the file at <paramref name="path"/>.</summary>
    /// <exception cref="ImageFileException">Not a picture of a supported format, truncated, or too large.</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static RgbImage DecodeFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var length = FileLength.Of(path);
        if (length > MaxFileBytes)
        {
            throw new ImageFileException($"{path}: {length} bytes is larger than the {MaxFileBytes >> 20} MiB an image may be");
        }
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes <paramref name="encoded"/>; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="ImageFileException">Not a picture of a supported format, truncated, or too large.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (encoded.IsEmpty)
        {
            throw new ImageFileException($"{name}: empty, not an image");
        }
        var bytes = encoded.ToArray();
        try
        {
            using (var header = new MemoryStream(bytes, writable: false))
            {
                var info = Image.Identify(Formats, header, out var format);
                if (info is null || format is null)
                {
                    throw new ImageFileException($"{name}: not an image Quanta can read (PNG, JPEG, WebP, BMP or GIF)");
                }
                if (info.Width < 1 || info.Height < 1 || (long)info.Width * info.Height > MaxPixels)
                {
                    throw new ImageFileException($"{name}: {format.Name} of {info.Width} × {info.Height} pixels; images of at most {MaxPixels / 1_000_000} megapixels are decoded");
                }
            }
            using var stream = new MemoryStream(bytes, writable: false);
            using var image = Image.Load<Rgb24>(Formats, stream);
            image.Mutate(x => x.AutoOrient());
            var pixels = new byte[3L * image.Width * image.Height];
            image.CopyPixelDataTo(pixels);
            return new RgbImage(image.Width, image.Height, pixels);
        }
        catch (ImageFileException)
        {
            throw;
        }
        catch (Exception e) when (e is SixLabors.ImageSharp.ImageFormatException or NotSupportedException or InvalidMemoryOperationException
            or EndOfStreamException or InvalidDataException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            // Truncated or corrupt data: ImageSharp names what it tripped on; keep it to one line.
            throw new ImageFileException($"{name}: not a readable image ({OneLine(e.Message)})", e);
        }
    }

    static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
