using Quanta.Formats.Images;

namespace Quanta.Inference.Vision;

/// <summary>
/// A picture made ready for a tower: one or more square tiles of <c>ImageSize²·3</c> normalised floats
/// (interleaved RGB, rows top to bottom) and, for LLaVA 1.6, the grid the tiles after the first were cut from.
/// </summary>
public sealed record VisionTiles(IReadOnlyList<float[]> Tiles, int GridColumns, int GridRows);

/// <summary>
/// Each model's preprocessing. LLaVA follows llama.cpp's February 2025 <c>clip_image_preprocess</c>: 1.5 pads a
/// non-square picture to a square at the top-left with LLaVA's mean colour and scales it with clip.cpp's own
/// bilinear; 1.6 (<c>spatial_unpad</c> with <c>image_grid_pinpoints</c>) picks the best resolution, scales with
/// clip.cpp's bicubic into it (padded black, centred), cuts tiles and puts the whole picture (bicubic) first.
/// Gemma 3 scales the picture to the square with the same bicubic (llama.cpp's path for its SigLIP) and normalises
/// with the file's mean and standard deviation.
/// </summary>
public static class VisionPreprocessor
{
    public static VisionTiles Prepare(RgbImage image, VisionHyperparameters parameters)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(parameters);
        var size = parameters.ImageSize;
        var mean = parameters.ImageMean;
        var std = parameters.ImageStd;
        if (parameters.Projector == VisionProjectorType.Gemma3)
        {
            return new([ClipResize.Normalize(ClipResize.Bicubic(image, size, size), mean, std)], 0, 0);
        }
        var padToSquare = parameters.PatchMergeType != "spatial_unpad";
        if (padToSquare && image.Width != image.Height)
        {
            return new([ClipResize.BilinearNormalized(ClipResize.PadToSquare(image), size, mean, std)], 0, 0);
        }
        if (parameters.GridPinpoints.Length == 0)
        {
            return new([ClipResize.BilinearNormalized(image, size, mean, std)], 0, 0);
        }
        var (width, height) = BestResolution(image.Width, image.Height, parameters.GridPinpoints);
        if (width % size != 0 || height % size != 0)
        {
            throw new InvalidOperationException($"grid pinpoint {width} × {height} is not a multiple of the tile size {size}");
        }
        var canvas = ResizeAndPad(image, width, height);
        var tiles = new List<float[]> { ClipResize.Normalize(ClipResize.Bicubic(image, size, size), mean, std) };
        for (var y = 0; y < height; y += size)
        {
            for (var x = 0; x < width; x += size)
            {
                var tile = new byte[3 * size * size];
                for (var row = 0; row < size; row++)
                {
                    Array.Copy(canvas.Pixels, 3L * (((y + row) * width) + x), tile, 3L * row * size, 3L * size);
                }
                tiles.Add(ClipResize.Normalize(new RgbImage(size, size, tile), mean, std));
            }
        }
        return new(tiles, width / size, height / size);
    }

    /// <summary><c>select_best_resolution</c>: the candidate that keeps most of the picture, then wastes least.</summary>
    public static (int Width, int Height) BestResolution(int originalWidth, int originalHeight, IReadOnlyList<int> pinpoints)
    {
        ArgumentNullException.ThrowIfNull(pinpoints);
        (int, int) best = default;
        var maxEffective = 0;
        var minWasted = int.MaxValue;
        for (var i = 0; i + 1 < pinpoints.Count; i += 2)
        {
            var width = pinpoints[i];
            var height = pinpoints[i + 1];
            var scale = MathF.Min((float)width / originalWidth, (float)height / originalHeight);
            var downscaledWidth = (int)(originalWidth * scale);
            var downscaledHeight = (int)(originalHeight * scale);
            var effective = (int)Math.Min((long)downscaledWidth * downscaledHeight, (long)originalWidth * originalHeight);
            var wasted = (width * height) - effective;
            if (effective > maxEffective || (effective == maxEffective && wasted < minWasted))
            {
                maxEffective = effective;
                minWasted = wasted;
                best = (width, height);
            }
        }
        return best;
    }

    /// <summary><c>resize_and_pad_image</c>: bicubic to fit, centred on black.</summary>
    static RgbImage ResizeAndPad(RgbImage image, int targetWidth, int targetHeight)
    {
        var scaleWidth = (float)targetWidth / image.Width;
        var scaleHeight = (float)targetHeight / image.Height;
        int newWidth, newHeight;
        if (scaleWidth < scaleHeight)
        {
            newWidth = targetWidth;
            newHeight = Math.Min((int)MathF.Ceiling(image.Height * scaleWidth), targetHeight);
        }
        else
        {
            newHeight = targetHeight;
            newWidth = Math.Min((int)MathF.Ceiling(image.Width * scaleHeight), targetWidth);
        }
        var resized = ClipResize.Bicubic(image, newWidth, newHeight);
        var padded = new byte[3L * targetWidth * targetHeight];
        var padX = (targetWidth - newWidth) / 2;
        var padY = (targetHeight - newHeight) / 2;
        for (var y = 0; y < newHeight; y++)
        {
            Array.Copy(resized.Pixels, 3L * y * newWidth, padded, 3L * (((y + padY) * targetWidth) + padX), 3L * newWidth);
        }
        return new RgbImage(targetWidth, targetHeight, padded);
    }
}
