using Quanta.Formats.Images;

namespace Quanta.Inference.Vision;

/// <summary>
/// The resizers of llama.cpp's February 2025 <c>examples/llava/clip.cpp</c>, float for float: they differ from
/// Hugging Face's (and from each other), and the embeddings follow the pixels, so they are reproduced as written,
/// double-precision constants and float truncations included.
/// </summary>
public static class ClipResize
{
    /// <summary>
    /// <c>bicubic_resize</c>: the sample point is <c>(int)(j·nx/w)</c> with the fraction as the offset (no half-pixel
    /// centre), a Catmull–Rom-like cubic across four columns and then four rows, clamped at the edges, rounded.
    /// </summary>
    public static RgbImage Bicubic(RgbImage image, int targetWidth, int targetHeight)
    {
        ArgumentNullException.ThrowIfNull(image);
        var nx = image.Width;
        var ny = image.Height;
        var src = image.Pixels;
        var dst = new byte[3L * targetWidth * targetHeight];
        var tx = (float)nx / targetWidth;
        var ty = (float)ny / targetHeight;
        Span<float> c = stackalloc float[4];
        for (var i = 0; i < targetHeight; i++)
        {
            for (var j = 0; j < targetWidth; j++)
            {
                var x = (int)(tx * j);
                var y = (int)(ty * i);
                var dx = (tx * j) - x;
                var dy = (ty * i) - y;
                for (var k = 0; k < 3; k++)
                {
                    for (var jj = 0; jj <= 3; jj++)
                    {
                        var row = Clamp(y - 1 + jj, 0, ny - 1) * nx;
                        float a0 = src[((row + Clamp(x, 0, nx - 1)) * 3) + k];
                        float d0 = src[((row + Clamp(x - 1, 0, nx - 1)) * 3) + k] - a0;
                        float d2 = src[((row + Clamp(x + 1, 0, nx - 1)) * 3) + k] - a0;
                        float d3 = src[((row + Clamp(x + 2, 0, nx - 1)) * 3) + k] - a0;
                        var a1 = (float)((-1.0 / 3 * d0) + d2 - (1.0 / 6 * d3));
                        var a2 = (float)((1.0 / 2 * d0) + (1.0 / 2 * d2));
                        var a3 = (float)((-1.0 / 6 * d0) - (1.0 / 2 * d2) + (1.0 / 6 * d3));
                        c[jj] = a0 + (a1 * dx) + (a2 * dx * dx) + (a3 * dx * dx * dx);
                    }
                    // clip.cpp evaluates this inside the loop over jj; only the last (all four rows known) survives.
                    var e0 = c[0] - c[1];
                    var e2 = c[2] - c[1];
                    var e3 = c[3] - c[1];
                    var b0 = c[1];
                    var b1 = (float)((-1.0 / 3 * e0) + e2 - (1.0 / 6 * e3));
                    var b2 = (float)((1.0 / 2 * e0) + (1.0 / 2 * e2));
                    var b3 = (float)((-1.0 / 6 * e0) - (1.0 / 2 * e2) + (1.0 / 6 * e3));
                    var cc = b0 + (b1 * dy) + (b2 * dy * dy) + (b3 * dy * dy * dy);
                    dst[((i * targetWidth) + j) * 3 + k] = (byte)MathF.Min(MathF.Max(MathF.Round(cc, MidpointRounding.AwayFromZero), 0f), 255f);
                }
            }
        }
        return new RgbImage(targetWidth, targetHeight, dst);
    }

    /// <summary>
    /// LLaVA 1.5's square: the picture copied to the top-left corner of a square of its longer side filled with
    /// rgb(122, 116, 104) (LLaVA's mean colour), as <c>clip_image_preprocess</c> pads; a square picture is returned as is.
    /// </summary>
    public static RgbImage PadToSquare(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width == image.Height)
        {
            return image;
        }
        var side = Math.Max(image.Width, image.Height);
        var square = RgbImage.Filled(side, side, 122, 116, 104);
        for (var y = 0; y < image.Height; y++)
        {
            Array.Copy(image.Pixels, 3L * y * image.Width, square.Pixels, 3L * y * side, 3L * image.Width);
        }
        return square;
    }

    /// <summary>
    /// <c>clip_image_preprocess</c>'s own bilinear scaling of a (square) picture to <paramref name="size"/>, with
    /// half-pixel centres, each value rounded to 8 bits, then normalised: <c>(v/255 − mean)/std</c>. Returns
    /// <c>size × size × 3</c> interleaved floats; like clip.cpp, only the <c>nx3 × ny3</c> corner is written and its
    /// rows are <c>nx3</c> apart (they equal <paramref name="size"/> for a square input).
    /// </summary>
    public static float[] BilinearNormalized(RgbImage image, int size, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        ArgumentNullException.ThrowIfNull(image);
        var nx = image.Width;
        var ny = image.Height;
        var src = image.Pixels;
        var result = new float[3 * size * size];
        var scale = Math.Max(nx, ny) / (float)size;
        var nx3 = (int)((nx / scale) + 0.5f);
        var ny3 = (int)((ny / scale) + 0.5f);
        if (3L * nx3 * ny3 > result.Length)
        {
            throw new InvalidOperationException($"{nx} × {ny} scaled to {nx3} × {ny3} does not fit {size} × {size}");
        }
        for (var y = 0; y < ny3; y++)
        {
            for (var x = 0; x < nx3; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    var sx = ((x + 0.5f) * scale) - 0.5f;
                    var sy = ((y + 0.5f) * scale) - 0.5f;
                    var x0 = Math.Max(0, (int)MathF.Floor(sx));
                    var y0 = Math.Max(0, (int)MathF.Floor(sy));
                    var x1 = Math.Min(x0 + 1, nx - 1);
                    var y1 = Math.Min(y0 + 1, ny - 1);
                    var dx = sx - x0;
                    var dy = sy - y0;
                    float v00 = src[(3 * ((y0 * nx) + x0)) + c];
                    float v01 = src[(3 * ((y0 * nx) + x1)) + c];
                    float v10 = src[(3 * ((y1 * nx) + x0)) + c];
                    float v11 = src[(3 * ((y1 * nx) + x1)) + c];
                    var v0 = (v00 * (1.0f - dx)) + (v01 * dx);
                    var v1 = (v10 * (1.0f - dx)) + (v11 * dx);
                    var v = (v0 * (1.0f - dy)) + (v1 * dy);
                    var v2 = (byte)MathF.Min(MathF.Max(MathF.Round(v, MidpointRounding.AwayFromZero), 0f), 255f);
                    result[(3 * ((y * nx3) + x)) + c] = ((v2 / 255.0f) - mean[c]) / std[c];
                }
            }
        }
        return result;
    }

    /// <summary><c>normalize_image_u8_to_f32</c>: <c>(v/255 − mean)/std</c> per channel, interleaved.</summary>
    public static float[] Normalize(RgbImage image, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        ArgumentNullException.ThrowIfNull(image);
        var result = new float[image.Pixels.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var c = i % 3;
            result[i] = ((image.Pixels[i] / 255.0f) - mean[c]) / std[c];
        }
        return result;
    }

    static int Clamp(int x, int lower, int upper) => Math.Max(lower, Math.Min(x, upper));
}
