using System.Globalization;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// The pieces of Go's <c>strconv</c> and <c>fmt</c> the template parser relies on, so that literals mean what they
/// mean in Go and error messages quote text as Go does: <c>strconv.Quote</c> (<c>%q</c>), <c>%#U</c>,
/// <c>strconv.Unquote</c> / <c>UnquoteChar</c>, and <c>ParseInt</c> / <c>ParseUint</c> / <c>ParseFloat</c> with
/// base prefixes and underscores.
/// </summary>
internal static class GoSyntax
{
    /// <summary>Go's <c>strconv.ErrSyntax</c> text, which template errors show as is.</summary>
    public const string InvalidSyntax = "invalid syntax";

    /// <summary>Go's <c>unicode.IsPrint</c>: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    public static bool IsPrint(Rune r)
    {
        if (r.Value == ' ')
        {
            return true;
        }
        switch (Rune.GetUnicodeCategory(r))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
            case UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation:
            case UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol:
                return true;
            default:
                return false;
        }
    }

    /// <summary>Go's <c>%q</c> of a string (<c>strconv.Quote</c>); with <paramref name="maxRunes"/>, <c>%.Nq</c>.</summary>
    public static string Quote(string s, int maxRunes = int.MaxValue)
    {
        var sb = new StringBuilder(s.Length + 2);
        sb.Append('"');
        var count = 0;
        foreach (var r in s.EnumerateRunes())
        {
            if (count++ == maxRunes)
            {
                break;
            }
            AppendEscaped(sb, r, '"');
        }
        sb.Append('"');
        return sb.ToString();
    }

    static void AppendEscaped(StringBuilder sb, Rune r, char quote)
    {
        if (r.Value == quote || r.Value == '\\')
        {
            sb.Append('\\').Append((char)r.Value);
            return;
        }
        if (IsPrint(r))
        {
            sb.Append(r.ToString());
            return;
        }
        switch (r.Value)
        {
            case '\a': sb.Append("\\a"); break;
            case '\b': sb.Append("\\b"); break;
            case '\f': sb.Append("\\f"); break;
            case '\n': sb.Append("\\n"); break;
            case '\r': sb.Append("\\r"); break;
            case '\t': sb.Append("\\t"); break;
            case '\v': sb.Append("\\v"); break;
            default:
                if (r.Value < ' ' || r.Value == 0x7f)
                {
                    sb.Append("\\x").Append(r.Value.ToString("x2", CultureInfo.InvariantCulture));
                }
                else if (r.Value < 0x10000)
                {
                    sb.Append("\\u").Append(r.Value.ToString("x4", CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append("\\U").Append(r.Value.ToString("x8", CultureInfo.InvariantCulture));
                }
                break;
        }
    }

    /// <summary>Go's <c>%#U</c>: <c>U+0041 'A'</c>, or <c>U+0007</c> for a character that does not print.</summary>
    public static string DescribeRune(Rune r) =>
        IsPrint(r)
            ? $"U+{r.Value.ToString("X4", CultureInfo.InvariantCulture)} '{r}'"
            : $"U+{r.Value.ToString("X4", CultureInfo.InvariantCulture)}";

    /// <summary>Go's <c>strconv.Unquote</c> for a "double-quoted", `raw` or 'c' literal; null when it is not valid.</summary>
    public static string? Unquote(string s)
    {
        if (s.Length < 2)
        {
            return null;
        }
        var quote = s[0];
        if (quote == '`')
        {
            // A raw string ends at the next back quote; carriage returns inside it are dropped.
            var end = s.IndexOf('`', 1);
            return end != s.Length - 1 ? null : s[1..end].Replace("\r", "", StringComparison.Ordinal);
        }
        if (quote is not ('"' or '\''))
        {
            return null;
        }
        var sb = new StringBuilder(s.Length);
        var rest = s.AsSpan(1);
        while (rest.Length > 0 && rest[0] != quote)
        {
            if (rest[0] == '\n' || !TryUnquoteChar(rest, quote, out var value, out var consumed))
            {
                return null;
            }
            sb.Append(value);
            rest = rest[consumed..];
            if (quote == '\'')
            {
                break;
            }
        }
        // The literal must end with its quote, and nothing may follow.
        return rest.Length == 1 && rest[0] == quote ? sb.ToString() : null;
    }

    /// <summary>
    /// Go's <c>strconv.UnquoteChar</c>: the first character (or escape) of <paramref name="s"/>, as the text it
    /// stands for, and how many chars it took.
    /// </summary>
    public static bool TryUnquoteChar(ReadOnlySpan<char> s, char quote, out string value, out int consumed)
    {
        value = "";
        consumed = 0;
        if (s.Length == 0)
        {
            return false;
        }
        var c = s[0];
        if (c == quote && quote is '\'' or '"')
        {
            return false;
        }
        if (c != '\\')
        {
            var status = Rune.DecodeFromUtf16(s, out var rune, out consumed);
            value = status == System.Buffers.OperationStatus.Done ? rune.ToString() : "\uFFFD";
            consumed = Math.Max(consumed, 1);
            return true;
        }
        if (s.Length <= 1)
        {
            return false;
        }
        var e = s[1];
        consumed = 2;
        switch (e)
        {
            case 'a': value = "\a"; return true;
            case 'b': value = "\b"; return true;
            case 'f': value = "\f"; return true;
            case 'n': value = "\n"; return true;
            case 'r': value = "\r"; return true;
            case 't': value = "\t"; return true;
            case 'v': value = "\v"; return true;
            case '\\': value = "\\"; return true;
            case '\'' or '"':
                value = e.ToString();
                return e == quote;
            case 'x' or 'u' or 'U':
                {
                    var n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (s.Length < 2 + n)
                    {
                        return false;
                    }
                    var v = 0L;
                    for (var j = 0; j < n; j++)
                    {
                        var digit = HexValue(s[2 + j]);
                        if (digit < 0)
                        {
                            return false;
                        }
                        v = (v << 4) | (long)digit;
                    }
                    consumed = 2 + n;
                    if (e == 'x')
                    {
                        // A single byte in Go; the nearest a .NET string holds is the same code unit.
                        value = ((char)v).ToString();
                        return true;
                    }
                    if (v > 0x10FFFF || v is >= 0xD800 and <= 0xDFFF)
                    {
                        return false;
                    }
                    value = new Rune((int)v).ToString();
                    return true;
                }
            case >= '0' and <= '7':
                {
                    if (s.Length < 4)
                    {
                        return false;
                    }
                    var v = e - '0';
                    for (var j = 2; j < 4; j++)
                    {
                        var x = s[j] - '0';
                        if (x is < 0 or > 7)
                        {
                            return false;
                        }
                        v = (v << 3) | x;
                    }
                    if (v > 255)
                    {
                        return false;
                    }
                    consumed = 4;
                    value = ((char)v).ToString();
                    return true;
                }
            default:
                return false;
        }
    }

    static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Go's <c>strconv.ParseUint(s, 0, 64)</c>: 0x, 0o, 0b and leading-0 octal prefixes, underscores between digits.</summary>
    public static bool TryParseUint(string s, out ulong value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }
        var digits = s.AsSpan();
        var numberBase = 10;
        if (s[0] == '0')
        {
            if (s.Length >= 3 && char.ToLowerInvariant(s[1]) is 'b' or 'o' or 'x')
            {
                numberBase = char.ToLowerInvariant(s[1]) switch { 'b' => 2, 'o' => 8, _ => 16 };
                digits = digits[2..];
            }
            else
            {
                numberBase = 8;
                digits = digits[1..];
            }
        }
        var underscores = false;
        foreach (var c in digits)
        {
            if (c == '_')
            {
                underscores = true;
                continue;
            }
            var d = HexValue(c);
            if (d < 0 || d >= numberBase)
            {
                return false;
            }
            var next = value * (ulong)numberBase + (ulong)d;
            if (value > ulong.MaxValue / (ulong)numberBase || next < value * (ulong)numberBase)
            {
                return false;
            }
            value = next;
        }
        return !underscores || UnderscoreOk(s);
    }

    /// <summary>Go's <c>strconv.ParseInt(s, 0, 64)</c>.</summary>
    public static bool TryParseInt(string s, out long value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }
        var negative = s[0] == '-';
        var unsigned = s[0] is '-' or '+' ? s[1..] : s;
        if (!TryParseUint(unsigned, out var u))
        {
            return false;
        }
        const ulong cutoff = 1UL << 63;
        if (!negative && u >= cutoff || negative && u > cutoff)
        {
            return false;
        }
        value = negative ? (long)(0 - u) : (long)u;
        return true;
    }

    /// <summary>Go's <c>strconv.ParseFloat(s, 64)</c> for the forms a template number can take (decimal and hex floats).</summary>
    public static bool TryParseFloat(string s, out double value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (i < s.Length && s[i] is '+' or '-')
        {
            negative = s[i] == '-';
            i++;
        }
        var hex = s.Length - i >= 2 && s[i] == '0' && char.ToLowerInvariant(s[i + 1]) == 'x';
        if (hex)
        {
            i += 2;
        }
        var mantissa = new StringBuilder();
        var sawDigits = false;
        var sawDot = false;
        var fractionDigits = 0;
        var underscores = false;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '_')
            {
                underscores = true;
            }
            else if (c == '.')
            {
                if (sawDot)
                {
                    break;
                }
                sawDot = true;
            }
            else if (char.IsAsciiDigit(c) || hex && char.IsAsciiHexDigit(c))
            {
                sawDigits = true;
                mantissa.Append(c);
                if (sawDot)
                {
                    fractionDigits++;
                }
            }
            else
            {
                break;
            }
        }
        if (!sawDigits)
        {
            return false;
        }
        var exponent = 0;
        var sawExponent = false;
        if (i < s.Length && char.ToLowerInvariant(s[i]) == (hex ? 'p' : 'e'))
        {
            i++;
            var exponentSign = 1;
            if (i < s.Length && s[i] is '+' or '-')
            {
                exponentSign = s[i] == '-' ? -1 : 1;
                i++;
            }
            var exponentDigits = false;
            for (; i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_'); i++)
            {
                if (s[i] == '_')
                {
                    underscores = true;
                    continue;
                }
                exponentDigits = true;
                exponent = Math.Min(exponent * 10 + (s[i] - '0'), 100_000);
            }
            if (!exponentDigits)
            {
                return false;
            }
            exponent *= exponentSign;
            sawExponent = true;
        }
        if (i != s.Length || hex && !sawExponent || underscores && !UnderscoreOk(s))
        {
            return false;
        }
        if (hex)
        {
            var m = 0.0;
            foreach (var c in mantissa.ToString())
            {
                m = m * 16 + HexValue(c);
            }
            value = m * Math.Pow(2, exponent - 4 * fractionDigits);
        }
        else
        {
            value = double.Parse(s.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture);
            negative = false; // the sign is part of the parsed text
        }
        if (negative)
        {
            value = -value;
        }
        // Go reports a value out of range as an error.
        return !double.IsInfinity(value);
    }

    /// <summary>Go's <c>strconv.underscoreOK</c>: underscores only between digits (or after a base prefix).</summary>
    static bool UnderscoreOk(string s)
    {
        var saw = '^';
        var i = 0;
        if (s.Length >= 1 && s[0] is '-' or '+')
        {
            s = s[1..];
        }
        var hex = false;
        if (s.Length >= 2 && s[0] == '0' && char.ToLowerInvariant(s[1]) is 'b' or 'o' or 'x')
        {
            i = 2;
            saw = '0';
            hex = char.ToLowerInvariant(s[1]) == 'x';
        }
        for (; i < s.Length; i++)
        {
            if (char.IsAsciiDigit(s[i]) || hex && char.IsAsciiHexDigit(s[i]))
            {
                saw = '0';
                continue;
            }
            if (s[i] == '_')
            {
                if (saw != '0')
                {
                    return false;
                }
                saw = '_';
                continue;
            }
            if (saw == '_')
            {
                return false;
            }
            saw = '!';
        }
        return saw != '_';
    }
}
