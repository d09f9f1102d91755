using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Quanta.Conversion;

/// <summary>
/// <c>general.name</c> and <c>general.size_label</c> as gguf-py derives them when no model card says
/// otherwise: the checkpoint directory's name in title form, and the parameter count rounded to two
/// significant digits with a K/M/B/T suffix.
/// </summary>
public static partial class ModelNaming
{
    /// <summary>
    /// gguf-py's <c>Metadata.id_to_title</c>: dashes become spaces, and all-lowercase words are title-cased
    /// unless they look like a version (<c>v2</c>) or start with a digit.
    /// </summary>
    public static string IdToTitle(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var words = id.Trim().Replace('-', ' ').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Select(w => IsLower(w) && !VersionLike().IsMatch(w) ? TitleCase(w) : w));
    }

    /// <summary>Python's <c>str.islower</c>: some cased letter, and no upper-case one.</summary>
    static bool IsLower(string word) => word.Any(char.IsLower) && !word.Any(c => char.IsUpper(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter);

    /// <summary>Python's <c>str.title</c>: a letter after a non-letter is upper-cased, other letters lower-cased.</summary>
    static string TitleCase(string word)
    {
        var text = new StringBuilder(word.Length);
        var previousCased = false;
        foreach (var c in word)
        {
            text.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsLetter(c);
        }
        return text.ToString();
    }

    [GeneratedRegex(@"^(v\d+(?:\.\d+)*|\d.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionLike();

    /// <summary>gguf-py's <c>model_weight_count_rounded_notation</c> with two digits (<c>17M</c>, <c>9.3M</c>, <c>1.2B</c>).</summary>
    public static string SizeLabel(long parameters)
    {
        parameters = Math.Abs(parameters);
        var (scaled, suffix) = parameters switch
        {
            >= 1_000_000_000_000 => (parameters * 1e-12, "T"),
            >= 1_000_000_000 => (parameters * 1e-9, "B"),
            >= 1_000_000 => (parameters * 1e-6, "M"),
            _ => (parameters * 1e-3, "K"),
        };
        // Python's round() rounds halves to even, as Math.Round does by default.
        var integerDigits = Math.Round(scaled).ToString(CultureInfo.InvariantCulture).TrimStart('0').Length;
        var decimals = Math.Max(2 - integerDigits, 0);
        return scaled.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + suffix;
    }
}
