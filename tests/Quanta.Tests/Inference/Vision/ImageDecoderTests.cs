using System.Buffers.Binary;
using Quanta.Formats.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Quanta.Tests.Inference.Vision;

public sealed class ImageDecoderTests
{
    static byte[] Encode(Image image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    static Image<Rgb24> Picture()
    {
        var image = new Image<Rgb24>(6, 4);
        for (var y = 0; y < 4; y++)
        {
            for (var x = 0; x < 6; x++)
            {
                image[x, y] = new Rgb24((byte)(40 * x), (byte)(60 * y), 200);
            }
        }
        return image;
    }

    public static TheoryData<string> LosslessFormats => ["png", "bmp", "webp-lossless", "gif"];

    [Theory]
    [MemberData(nameof(LosslessFormats))]
    public void Lossless_formats_decode_to_the_same_pixels(string format)
    {
        using var picture = Picture();
        var bytes = Encode(picture, format switch
        {
            "png" => new PngEncoder(),
            "bmp" => new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 },
            "webp-lossless" => new WebpEncoder { FileFormat = WebpFileFormatType.Lossless },
            _ => new GifEncoder(),
        });
        var decoded = ImageDecoder.Decode(bytes, "picture." + format);
        Assert.Equal((6, 4), (decoded.Width, decoded.Height));
        if (format != "gif")
        {
            // GIF's palette may merge colours; the others keep every byte.
            Assert.Equal(200, decoded.Pixels[2]);
            Assert.Equal(40 * 5, decoded.Pixels[3 * 5]);
            Assert.Equal(60 * 3, decoded.Pixels[(3 * ((3 * 6) + 0)) + 1]);
        }
    }

    [Fact]
    public void Jpeg_decodes_close_to_its_source()
    {
        using var picture = Picture();
        var decoded = ImageDecoder.Decode(Encode(picture, new JpegEncoder { Quality = 100 }), "picture.jpg");
        Assert.Equal((6, 4), (decoded.Width, decoded.Height));
        Assert.InRange(decoded.Pixels[2], 180, 220);
    }

    [Fact]
    public void Exif_orientation_is_applied()
    {
        using var picture = Picture();
        picture.Metadata.ExifProfile = new ExifProfile();
        // 6: rotate 90° clockwise to display.
        picture.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
        var decoded = ImageDecoder.Decode(Encode(picture, new PngEncoder()), "rotated.png");
        Assert.Equal((4, 6), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void A_gif_gives_its_first_frame()
    {
        using var picture = new Image<Rgb24>(3, 3, new Rgb24(255, 0, 0));
        using var second = new Image<Rgb24>(3, 3, new Rgb24(0, 0, 255));
        picture.Frames.AddFrame(second.Frames.RootFrame);
        var decoded = ImageDecoder.Decode(Encode(picture, new GifEncoder()), "two.gif");
        Assert.True(decoded.Pixels[0] > 200 && decoded.Pixels[2] < 50, $"first pixel {decoded.Pixels[0]}, {decoded.Pixels[1]}, {decoded.Pixels[2]}");
    }

    /// <summary>A PNG signature and an IHDR chunk claiming 30,000 × 30,000 RGB pixels (2.7 GB decoded), and nothing else.</summary>
    internal static byte[] HugePngHeader()
    {
        var bytes = new List<byte> { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        var chunk = new byte[4 + 13];
        "IHDR"u8.CopyTo(chunk);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4), 30_000);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8), 30_000);
        chunk[12] = 8; // bit depth
        chunk[13] = 2; // RGB
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, 13);
        bytes.AddRange(length);
        bytes.AddRange(chunk);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(chunk));
        bytes.AddRange(crc);
        return [.. bytes];
    }

    // PNG's CRC-32 (ISO 3309), bit by bit.
    static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }

    [Fact]
    public void A_huge_png_header_is_refused_before_decoding()
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<ImageFileException>(() => ImageDecoder.Decode(HugePngHeader(), "huge.png"));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Contains("30000 × 30000", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated");
    }

    [Fact]
    public void A_truncated_png_is_one_line()
    {
        using var picture = new Image<Rgb24>(64, 64, new Rgb24(1, 2, 3));
        var bytes = Encode(picture, new PngEncoder());
        var e = Assert.Throws<ImageFileException>(() => ImageDecoder.Decode(bytes.AsSpan(0, bytes.Length / 2), "cut.png"));
        Assert.StartsWith("cut.png: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Text_is_not_an_image()
    {
        var e = Assert.Throws<ImageFileException>(() => ImageDecoder.Decode("hello, world\n"u8, "notes.txt"));
        Assert.Equal("notes.txt: not an image Quanta can read (PNG, JPEG, WebP, BMP or GIF)", e.Message);
    }
}
