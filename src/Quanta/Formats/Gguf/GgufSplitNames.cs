using System.Globalization;
using System.Text.RegularExpressions;

namespace Quanta.Formats.Gguf;

/// <summary>llama.cpp's shard file names: <c>PREFIX-00001-of-00003.gguf</c>, numbered from 1.</summary>
public static partial class GgufSplitNames
{
    [GeneratedRegex(@"^(?<prefix>.+)-(?<no>\d{5})-of-(?<count>\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex ShardPattern();

    /// <summary>The path of shard <paramref name="number"/> (1-based) of <paramref name="count"/>.</summary>
    public static string ShardPath(string prefix, int number, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}-{number:D5}-of-{count:D5}.gguf");

    /// <summary>Splits a shard path into its prefix, 1-based number and count; false for other names.</summary>
    public static bool TryParse(string path, out string prefix, out int number, out int count)
    {
        var match = ShardPattern().Match(path);
        if (!match.Success)
        {
            (prefix, number, count) = ("", 0, 0);
            return false;
        }
        prefix = match.Groups["prefix"].Value;
        number = int.Parse(match.Groups["no"].Value, CultureInfo.InvariantCulture);
        count = int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture);
        return number >= 1 && number <= count;
    }
}
