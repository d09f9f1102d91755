using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>
/// Writes values as Python's <c>json.dumps</c> does (separators ", " and ": ", ensure_ascii, floats in repr),
/// so long arrays can be compared with the golden files' <c>[N items sha256:…]</c> summaries.
/// </summary>
internal static class PythonJson
{
    /// <summary>The golden summary of an array of 20 or more items, or the JSON of a shorter one.</summary>
    public static string Summarize(GgufArray array)
    {
        var json = List(array);
        if (array.Count < 20)
        {
            return json;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
        return $"[{array.Count} items sha256:{hash[..16]}]";
    }

    public static string List(GgufArray array)
    {
        var sb = new StringBuilder("[");
        var first = true;
        foreach (var item in array.Items)
        {
            if (!first)
            {
                sb.Append(", ");
            }
            first = false;
            switch (item)
            {
                case string s:
                    AppendString(sb, s);
                    break;
                case float f:
                    sb.Append(FloatRepr(f));
                    break;
                case double d:
                    sb.Append(FloatRepr(d));
                    break;
                case bool b:
                    sb.Append(b ? "true" : "false");
                    break;
                case IFormattable n:
                    sb.Append(n.ToString(null, CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new NotSupportedException(item?.GetType().Name);
            }
        }
        return sb.Append(']').ToString();
    }

    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    // ensure_ascii: every UTF-16 unit outside printable ASCII as \uXXXX (surrogates stay pairs).
                    if (c < 0x20 || c > 0x7E)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Python <c>repr(float)</c>: shortest round-trip digits, exponent form outside 1e-4 ≤ |x| &lt; 1e16.</summary>
    public static string FloatRepr(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }
        // "E16"-free route: .NET's "R" gives the shortest round-trip digits, in either notation.
        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        var dot = r.IndexOf('.');
        var intPart = dot >= 0 ? r[..dot] : r;
        var fracPart = dot >= 0 ? r[(dot + 1)..] : "";
        var digits = (intPart + fracPart).TrimStart('0');
        // Position of the decimal point relative to the first significant digit: value = 0.DIGITS × 10^decpt.
        var leadingZeros = (intPart + fracPart).Length - (intPart + fracPart).TrimStart('0').Length;
        var decpt = intPart.Length - leadingZeros + exponent;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }
        string body;
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0)
            {
                body = "0." + new string('0', -decpt) + digits;
            }
            else if (decpt >= digits.Length)
            {
                body = digits + new string('0', decpt - digits.Length) + ".0";
            }
            else
            {
                body = digits[..decpt] + "." + digits[decpt..];
            }
        }
        else
        {
            var mantissa = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
            var exp = decpt - 1;
            body = mantissa + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        return value < 0 ? "-" + body : body;
    }
}
