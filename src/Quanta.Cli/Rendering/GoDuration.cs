using System.Globalization;
using System.Text;

namespace Quanta.Cli.Rendering;

/// <summary>A duration as Go's <c>time.Duration.String</c> writes it (<c>1.234567891s</c>, <c>12.5ms</c>, <c>2m3.5s</c>), which Ollama's statistics print.</summary>
internal static class GoDuration
{
    public static string Format(long nanoseconds)
    {
        if (nanoseconds == 0)
        {
            return "0s";
        }
        var sign = nanoseconds < 0 ? "-" : "";
        var u = nanoseconds == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(nanoseconds);
        if (u < 1_000_000_000)
        {
            return u switch
            {
                < 1_000 => sign + u.ToString(CultureInfo.InvariantCulture) + "ns",
                < 1_000_000 => sign + Fixed(u, 3) + "µs",
                _ => sign + Fixed(u, 6) + "ms",
            };
        }
        var sb = new StringBuilder(sign);
        var seconds = u / 1_000_000_000;
        var minutes = seconds / 60;
        var hours = minutes / 60;
        if (hours > 0)
        {
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }
        if (minutes > 0)
        {
            sb.Append((minutes % 60).ToString(CultureInfo.InvariantCulture)).Append('m');
        }
        sb.Append(Fixed((seconds % 60 * 1_000_000_000) + (u % 1_000_000_000), 9)).Append('s');
        return sb.ToString();
    }

    /// <summary><paramref name="value"/> / 10^<paramref name="digits"/> with the fraction's trailing zeros dropped.</summary>
    static string Fixed(ulong value, int digits)
    {
        var scale = (ulong)Math.Pow(10, digits);
        var whole = (value / scale).ToString(CultureInfo.InvariantCulture);
        var fraction = (value % scale).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
        return fraction.Length == 0 ? whole : whole + "." + fraction;
    }
}
