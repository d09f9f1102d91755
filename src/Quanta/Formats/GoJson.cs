using System.Globalization;

namespace Quanta.Formats;

/// <summary>
/// JSON numbers as Go's <c>encoding/json</c> spells them, so that what Quanta writes for Ollama (store blobs,
/// <c>show --json</c>, later the HTTP API) has the bytes Ollama's own encoder would write.
/// </summary>
public static class GoJson
{
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
