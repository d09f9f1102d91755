using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// JSON text as nlohmann::json's <c>dump()</c> writes it (compact, keys in document order, non-ASCII kept,
/// <c>\u00xx</c> in lower case for other control characters, doubles in their shortest form with <c>.0</c>
/// when integral and <c>e+XX</c> exponents), because llama.cpp's JSON-schema converter puts these texts
/// into the grammars it writes (constants, enum values, property names, error messages).
/// </summary>
static class NlohmannJson
{
    public static string Dump(JsonNode? node)
    {
        var output = new StringBuilder();
        Write(node, output);
        return output.ToString();
    }

    public static string DumpString(string value)
    {
        var output = new StringBuilder();
        WriteString(value, output);
        return output.ToString();
    }

    static void Write(JsonNode? node, StringBuilder output)
    {
        switch (node)
        {
            case null:
                output.Append("null");
                break;
            case JsonObject obj:
                output.Append('{');
                var firstKey = true;
                foreach (var (key, value) in obj)
                {
                    if (!firstKey)
                    {
                        output.Append(',');
                    }
                    firstKey = false;
                    WriteString(key, output);
                    output.Append(':');
                    Write(value, output);
                }
                output.Append('}');
                break;
            case JsonArray array:
                output.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Append(',');
                    }
                    Write(array[i], output);
                }
                output.Append(']');
                break;
            default:
                WriteValue(node.AsValue(), output);
                break;
        }
    }

    static void WriteValue(JsonValue value, StringBuilder output)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                WriteString(value.GetValue<string>(), output);
                break;
            case JsonValueKind.True:
                output.Append("true");
                break;
            case JsonValueKind.False:
                output.Append("false");
                break;
            case JsonValueKind.Null:
                output.Append("null");
                break;
            default:
                output.Append(Number(value.ToJsonString()));
                break;
        }
    }

    // nlohmann keeps integers (text without '.', 'e', 'E') as integers and prints doubles in the shortest
    // round-trip form: fixed notation for decimal exponents -4 < e <= 15, else d.ddde+XX.
    static string Number(string text)
    {
        if (text.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return integer.ToString(CultureInfo.InvariantCulture);
        }
        var number = double.Parse(text, CultureInfo.InvariantCulture);
        if (number == 0)
        {
            return double.IsNegative(number) ? "-0.0" : "0.0";
        }
        var roundTrip = Math.Abs(number).ToString("R", CultureInfo.InvariantCulture);
        // the shortest digits and the decimal exponent of the leading digit
        var exponentAt = roundTrip.IndexOfAny(['E', 'e']);
        var mantissa = exponentAt < 0 ? roundTrip : roundTrip[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(roundTrip[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        var pointPosition = (point < 0 ? mantissa.Length : point) + exponent; // digits before the decimal point
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0');
        pointPosition -= leadingZeros;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }
        var sign = number < 0 ? "-" : "";
        var n = pointPosition; // value = 0.digits × 10^n
        var k = digits.Length;
        string body;
        if (k <= n && n <= 15)
        {
            body = digits + new string('0', n - k) + ".0";
        }
        else if (0 < n && n <= 15)
        {
            body = digits[..n] + "." + digits[n..];
        }
        else if (-4 < n && n <= 0)
        {
            body = "0." + new string('0', -n) + digits;
        }
        else
        {
            var e = n - 1;
            var m = k == 1 ? digits : digits[..1] + "." + digits[1..];
            body = m + "e" + (e < 0 ? "-" : "+") + Math.Abs(e).ToString("00", CultureInfo.InvariantCulture);
        }
        return sign + body;
    }

    static void WriteString(string value, StringBuilder output)
    {
        output.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    output.Append("\\\"");
                    break;
                case '\\':
                    output.Append("\\\\");
                    break;
                case '\b':
                    output.Append("\\b");
                    break;
                case '\f':
                    output.Append("\\f");
                    break;
                case '\n':
                    output.Append("\\n");
                    break;
                case '\r':
                    output.Append("\\r");
                    break;
                case '\t':
                    output.Append("\\t");
                    break;
                default:
                    if (c < 0x20)
                    {
                        output.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        output.Append(c);
                    }
                    break;
            }
        }
        output.Append('"');
    }
}
