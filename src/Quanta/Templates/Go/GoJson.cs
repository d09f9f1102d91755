using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Go's <c>json.Marshal</c>, for Ollama's <c>json</c> template function: map keys sorted, <c>&lt; &gt; &amp;</c> and
/// U+2028/U+2029 escaped, floats in Go's shortest form (<c>1e+21</c>, <c>1e-7</c>), objects by their public properties.
/// A value Go cannot encode (NaN, infinity) gives null, which Ollama's <c>json</c> turns into an empty string.
/// </summary>
internal static class GoJson
{
    public static string? Marshal(object? value)
    {
        var sb = new StringBuilder();
        return TryAppend(sb, value) ? sb.ToString() : null;
    }

    static bool TryAppend(StringBuilder sb, object? value)
    {
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
                var f = GoValues.ToDouble(value!);
                if (double.IsNaN(f) || double.IsInfinity(f))
                {
                    return false;
                }
                var abs = Math.Abs(f);
                if (abs != 0 && (abs < 1e-6 || abs >= 1e21))
                {
                    // Go cleans e-09 up to e-9.
                    var e = GoFormat.Float(f, 'e', -1);
                    sb.Append(e.Length >= 4 && e[^4] == 'e' && e[^3] == '-' && e[^2] == '0' ? e[..^2] + e[^1] : e);
                }
                else
                {
                    sb.Append(GoFormat.Float(f, 'f', -1));
                }
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

    static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var rune in s.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '<' or '>' or '&' or 0x2028 or 0x2029 or < 0x20:
                    sb.Append("\\u").Append(rune.Value.ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(rune.ToString());
                    break;
            }
        }
        sb.Append('"');
    }
}
