using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Go's <c>json.Marshal</c>, for Ollama's <c>json</c> template function: map keys sorted, <c>&lt; &gt; &amp;</c> and
/// U+2028/U+2029 escaped, floats in Go's shortest form (<c>1e+21</c>, <c>1e-7</c>), objects by their public properties.
/// A value Go cannot encode (NaN, infinity) gives null, which Ollama's <c>json</c> turns into an empty string.
/// Also the one spelling of Go's JSON strings and numbers for the rest of Quanta (the store's blobs, <c>show --json</c>).
/// </summary>
public static class GoJson
{
    public static string? Marshal(object? value)
    {
        var sb = new StringBuilder();
        return TryAppend(sb, value) ? sb.ToString() : null;
    }

    static bool TryAppend(StringBuilder sb, object? value)
    {
        if (value is IGoJsonValue custom)
        {
            sb.Append(custom.ToGoJson());
            return true;
        }
        switch (GoValues.KindOf(value))
        {
            case GoValues.Kind.Nil or GoValues.Kind.Invalid:
                sb.Append("null");
                return true;
            case GoValues.Kind.Bool:
                sb.Append((bool)value! ? "true" : "false");
                return true;
            case GoValues.Kind.Int:
                sb.Append(GoValues.ToInt64(value!).ToString(CultureInfo.InvariantCulture));
                return true;
            case GoValues.Kind.Uint:
                sb.Append(GoValues.ToUInt64(value!).ToString(CultureInfo.InvariantCulture));
                return true;
            case GoValues.Kind.Float:
                if (Float(GoValues.ToDouble(value!), single: value is float) is not { } number)
                {
                    return false;
                }
                sb.Append(number);
                return true;
            case GoValues.Kind.Complex:
                return false;
            case GoValues.Kind.String:
                AppendString(sb, (string)value!);
                return true;
            case GoValues.Kind.Slice:
                sb.Append('[');
                var first = true;
                foreach (var item in (IList)value!)
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }
                    first = false;
                    if (!TryAppend(sb, item))
                    {
                        return false;
                    }
                }
                sb.Append(']');
                return true;
            case GoValues.Kind.Map:
                sb.Append('{');
                var firstEntry = true;
                foreach (var (key, item) in ((IDictionary)value!).Keys.Cast<object>()
                    .Select(k => (Key: Convert.ToString(k, CultureInfo.InvariantCulture) ?? "", Value: ((IDictionary)value!)[k]))
                    .OrderBy(e => e.Key, StringComparer.Ordinal))
                {
                    if (!firstEntry)
                    {
                        sb.Append(',');
                    }
                    firstEntry = false;
                    AppendString(sb, key);
                    sb.Append(':');
                    if (!TryAppend(sb, item))
                    {
                        return false;
                    }
                }
                sb.Append('}');
                return true;
            default:
                sb.Append('{');
                var firstProperty = true;
                foreach (var property in value!.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
                {
                    if (!firstProperty)
                    {
                        sb.Append(',');
                    }
                    firstProperty = false;
                    AppendString(sb, property.Name);
                    sb.Append(':');
                    if (!TryAppend(sb, property.GetValue(value)))
                    {
                        return false;
                    }
                }
                sb.Append('}');
                return true;
        }
    }

    /// <summary>
    /// Go's <c>appendString</c> with HTML escaping on (encoding/json encode.go): <c>\"</c> <c>\\</c> <c>\b</c>
    /// <c>\f</c> <c>\n</c> <c>\r</c> <c>\t</c>, other control characters and <c>&lt; &gt; &amp;</c> U+2028 U+2029
    /// as <c>\u00xx</c>-style escapes (lower-case hex), an unpaired surrogate (invalid UTF-8 to Go) as <c>\ufffd</c>,
    /// everything else as it is.
    /// </summary>
    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029' or < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                    {
                        sb.Append(c).Append(s[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        sb.Append("\\ufffd");
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

    /// <summary>
    /// A float as Go's <c>encoding/json</c> writes it (<c>floatEncoder</c>, encode.go): the shortest digits that
    /// read back as the same f32 (<paramref name="single"/>) or f64, in plain decimals (<c>0.00001</c>,
    /// <c>1000000</c>), with an exponent only below 1e-6 or from 1e21 up (<c>1e-7</c>, <c>1e+21</c>); null for
    /// NaN and ±Inf, which Go's encoder refuses. Ollama's JSON (store blobs, API answers) is written this way.
    /// </summary>
    public static string? Float(double value, bool single)
    {
        if (!double.IsFinite(value))
        {
            return null;
        }
        // .NET's default formatting gives the same shortest round-trip digits Go's strconv finds; only the
        // layout (where the point goes, when an exponent is used) differs, so it is rebuilt from digits and exponent.
        var text = single ? ((float)value).ToString("R", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);
        var negative = text.StartsWith('-');
        if (negative)
        {
            text = text[1..];
        }
        var exponent = 0;
        var e = text.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? text : text.Remove(dot, 1);
        // pointAt: how many digits stand before the decimal point.
        var pointAt = (dot < 0 ? text.Length : dot) + exponent;
        var significant = digits.TrimStart('0');
        pointAt -= digits.Length - significant.Length;
        digits = significant.TrimEnd('0');
        var sign = negative ? "-" : "";
        if (digits.Length == 0)
        {
            return sign + "0";
        }

        var abs = Math.Abs(value);
        var useExponent = single
            ? (float)abs < 1e-6f || (float)abs >= 1e21f
            : abs < 1e-6 || abs >= 1e21;
        if (useExponent)
        {
            var mantissa = digits.Length == 1 ? digits : $"{digits[0]}.{digits[1..]}";
            var power = pointAt - 1;
            // strconv pads the exponent to two digits; encoding/json then trims "e-09" to "e-9" (not "e+21").
            return power < 0
                ? string.Create(CultureInfo.InvariantCulture, $"{sign}{mantissa}e-{-power}")
                : string.Create(CultureInfo.InvariantCulture, $"{sign}{mantissa}e+{power:00}");
        }
        if (pointAt <= 0)
        {
            return $"{sign}0.{new string('0', -pointAt)}{digits}";
        }
        return pointAt >= digits.Length
            ? $"{sign}{digits}{new string('0', pointAt - digits.Length)}"
            : $"{sign}{digits[..pointAt]}.{digits[pointAt..]}";
    }

    /// <summary>
    /// A JSON number written by System.Text.Json (integer, or shortest round-trip decimal) respelled as Go
    /// writes it: integers as they are, anything else through <see cref="Float"/> as a float64.
    /// </summary>
    public static string Number(string number) =>
        number.AsSpan().IndexOfAny(".eE") < 0
            ? number
            : Float(double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture), single: false)!;
}
