using System.Globalization;
using System.Text;

namespace Quanta.Cli.Rendering;

/// <summary>Numbers and values in the forms llama.cpp and Ollama users read: 7.24B, 4.07 GiB, [4096, 32000].</summary>
internal static class Humanize
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A count with a decimal suffix and three significant digits: 950, 1.2K, 3.41M, 7.24B.</summary>
    public static string Count(long value)
    {
        ReadOnlySpan<(double Scale, string Suffix)> units = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
        foreach (var (scale, suffix) in units)
        {
            if (Math.Abs(value) >= scale)
            {
                return ThreeDigits(value / scale) + suffix;
            }
        }
        return value.ToString(Invariant);
    }

    /// <summary>Bytes in binary units, as file managers and <c>ls -h</c> show them: 512 B, 6.52 MiB, 4.07 GiB.</summary>
    public static string Bytes(long value)
    {
        ReadOnlySpan<string> units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        if (Math.Abs(value) < 1024)
        {
            return $"{value.ToString(Invariant)} B";
        }
        double scaled = value;
        var unit = -1;
        while (Math.Abs(scaled) >= 1024 && unit < units.Length - 1)
        {
            scaled /= 1024;
            unit++;
        }
        return $"{ThreeDigits(scaled)} {units[unit]}";
    }

    /// <summary>An exact integer with thousands separators: 6,841,472.</summary>
    public static string Exact(long value) => value.ToString("N0", Invariant);

    /// <summary>GGUF order, row length first, as llama.cpp's loader prints shapes.</summary>
    public static string Shape(IReadOnlyList<long> shape) =>
        $"[{string.Join(", ", shape.Select(d => d.ToString(Invariant)))}]";

    public static string Bits(double bitsPerWeight) => bitsPerWeight.ToString("0.00", Invariant);

    /// <summary>
    /// A metadata value squeezed onto one line: control characters shown as escapes (chat templates are full
    /// of newlines) and long text cut with its length noted, so that one key stays one row.
    /// </summary>
    public static string OneLine(string text, int maxChars = 120)
    {
        var builder = new StringBuilder(Math.Min(text.Length, maxChars + 16));
        var shown = 0;
        foreach (var c in text)
        {
            if (shown >= maxChars)
            {
                builder.Append(CultureInfo.InvariantCulture, $"… ({text.Length} chars)");
                break;
            }
            builder.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
            shown++;
        }
        return builder.ToString();
    }

    static string ThreeDigits(double value)
    {
        var format = Math.Abs(value) switch
        {
            < 9.995 => "0.##",
            < 99.95 => "0.#",
            _ => "0",
        };
        return value.ToString(format, Invariant);
    }
}
