using Quanta.Formats.Images;

namespace Quanta.Inference.Vision;

/// <summary>
/// Generated pictures with structure at several scales (edges, gradients, colour), for checking that a tower still
/// sees without shipping photographs: <c>vision-check</c>'s built-in set and the tests' oracle inputs.
/// </summary>
public static class TestPatterns
{
    /// <summary>The built-in set's names, each at the size <c>vision-check</c> uses.</summary>
    public static IReadOnlyList<(string Name, int Width, int Height)> BuiltIn { get; } =
    [
        ("rings", 224, 224),
        ("gradient", 320, 240),
        ("checker", 256, 256),
        ("bars", 200, 300),
    ];

    /// <summary>The pattern <paramref name="name"/> at the given size.</summary>
    public static RgbImage Create(string name, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(name);
        var pixels = new byte[3L * width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = name switch
                {
                    "rings" => Rings(x, y, width, height),
                    "gradient" => ((double)x / Math.Max(1, width - 1) * 255, (double)y / Math.Max(1, height - 1) * 255, 128 + (64 * Math.Sin(x * 0.1))),
                    "checker" => ((x / 8 + y / 8) % 2 == 0 ? (230.0, 40.0, 40.0) : (20.0, 60.0, 220.0)),
                    "bars" => Bars(x, y, height),
                    _ => throw new ArgumentException($"no test pattern '{name}' (there are {string.Join(", ", BuiltIn.Select(p => p.Name))})", nameof(name)),
                };
                var i = 3 * ((y * width) + x);
                pixels[i] = ToByte(r);
                pixels[i + 1] = ToByte(g);
                pixels[i + 2] = ToByte(b);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    static (double, double, double) Rings(int x, int y, int width, int height)
    {
        var dx = x - (width / 2.0);
        var dy = y - (height / 2.0);
        var r = Math.Sqrt((dx * dx) + (dy * dy));
        var wave = 0.5 + (0.5 * Math.Cos(r * 0.35));
        return (255 * wave, 255 * (1 - wave), 96 + (64 * Math.Sin(Math.Atan2(dy, dx) * 3)));
    }

    static (double, double, double) Bars(int x, int y, int height)
    {
        var band = x / 25 % 6;
        (double R, double G, double B)[] colours = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255), (255, 0, 0)];
        var shade = 0.4 + (0.6 * y / Math.Max(1, height - 1));
        var c = colours[band];
        return (c.R * shade, c.G * shade, c.B * shade);
    }

    static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
