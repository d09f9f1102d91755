using System.Globalization;

namespace Quanta.Cli.Rendering;

/// <summary>Sizes, times and tables as the ollama CLI prints them (format/bytes.go, format/time.go, tablewriter).</summary>
internal static class OllamaFormat
{
    /// <summary>Decimal units: "4.9 GB", "12 MB", "512 B".</summary>
    public static string HumanBytes(long b)
    {
        double value;
        string unit;
        switch (b)
        {
            case >= 1_000_000_000_000:
                (value, unit) = (b / 1e12, "TB");
                break;
            case >= 1_000_000_000:
                (value, unit) = (b / 1e9, "GB");
                break;
            case >= 1_000_000:
                (value, unit) = (b / 1e6, "MB");
                break;
            case >= 1_000:
                (value, unit) = (b / 1e3, "KB");
                break;
            default:
                return b.ToString(CultureInfo.InvariantCulture) + " B";
        }
        if (value >= 10 || value == Math.Truncate(value))
        {
            return ((long)value).ToString(CultureInfo.InvariantCulture) + " " + unit;
        }
        return value.ToString("F1", CultureInfo.InvariantCulture) + " " + unit;
    }

    /// <summary>"Less than a second ago", "About a minute ago", "3 hours ago", "2 weeks ago".</summary>
    public static string HumanTime(DateTimeOffset time, DateTimeOffset now)
    {
        var delta = now - time;
        return delta < TimeSpan.Zero ? HumanDuration(-delta) + " from now" : HumanDuration(delta) + " ago";
    }

    static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }
        if (seconds == 1)
        {
            return "1 second";
        }
        if (seconds < 60)
        {
            return $"{seconds} seconds";
        }
        var minutes = (long)d.TotalMinutes;
        if (minutes == 1)
        {
            return "About a minute";
        }
        if (minutes < 60)
        {
            return $"{minutes} minutes";
        }
        var hours = (long)Math.Round(d.TotalHours);
        return hours switch
        {
            1 => "About an hour",
            < 48 => $"{hours} hours",
            < 24 * 7 * 2 => $"{hours / 24} days",
            < 24 * 30 * 2 => $"{hours / 24 / 7} weeks",
            < 24 * 365 * 2 => $"{hours / 24 / 30} months",
            _ => $"{(long)d.TotalHours / 24 / 365} years",
        };
    }

    /// <summary>Left-aligned columns separated by four spaces, no borders, as ollama's tables are.</summary>
    public static void WriteTable(TextWriter writer, IReadOnlyList<string> header, IEnumerable<string[]> rows, string indent = "")
    {
        var all = new List<string[]>();
        if (header.Count > 0)
        {
            all.Add([.. header]);
        }
        all.AddRange(rows);
        if (all.Count == 0)
        {
            return;
        }
        var columns = all.Max(r => r.Length);
        var widths = new int[columns];
        foreach (var row in all)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in all)
        {
            var line = indent + string.Join("    ", row.Select((cell, i) => cell.PadRight(widths[i])));
            writer.WriteLine(line.TrimEnd());
        }
    }
}
