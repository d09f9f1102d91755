using System.Globalization;
using System.Text;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The GBNF alternatives for the decimal integers between a minimum and a maximum (either may be absent) —
/// llama.cpp's <c>_build_min_max_int</c> (common/json-schema-to-grammar.cpp), digit by digit, for the
/// <c>minimum</c> / <c>maximum</c> / <c>exclusiveMinimum</c> / <c>exclusiveMaximum</c> of an integer schema.
/// </summary>
static class IntegerRangeGrammar
{
    public const int NoMinimum = int.MinValue;
    public const int NoMaximum = int.MaxValue;

    public static void Build(int minValue, int maxValue, StringBuilder output, int decimalsLeft = 16, bool topLevel = true)
    {
        var hasMin = minValue != NoMinimum;
        var hasMax = maxValue != NoMaximum;

        if (hasMin && hasMax)
        {
            if (minValue < 0 && maxValue < 0)
            {
                output.Append("\"-\" (");
                Build(-maxValue, -minValue, output, decimalsLeft, topLevel: true);
                output.Append(')');
                return;
            }
            if (minValue < 0)
            {
                output.Append("\"-\" (");
                Build(0, -minValue, output, decimalsLeft, topLevel: true);
                output.Append(") | ");
                minValue = 0;
            }
            var minText = Text(minValue);
            var maxText = Text(maxValue);
            for (var digits = minText.Length; digits < maxText.Length; digits++)
            {
                UniformRange(minText, new string('9', digits), output);
                minText = "1" + new string('0', digits);
                output.Append(" | ");
            }
            UniformRange(minText, maxText, output);
            return;
        }

        var lessDecimals = Math.Max(decimalsLeft - 1, 1);
        if (hasMin)
        {
            if (minValue < 0)
            {
                output.Append("\"-\" (");
                Build(NoMinimum, -minValue, output, decimalsLeft, topLevel: false);
                output.Append(") | [0] | [1-9] ");
                MoreDigits(0, decimalsLeft - 1, output);
            }
            else if (minValue == 0)
            {
                if (topLevel)
                {
                    output.Append("[0] | [1-9] ");
                    MoreDigits(0, lessDecimals, output);
                }
                else
                {
                    MoreDigits(1, decimalsLeft, output);
                }
            }
            else if (minValue <= 9)
            {
                var c = (char)('0' + minValue);
                var rangeStart = topLevel ? '1' : '0';
                if (c > rangeStart)
                {
                    DigitRange(rangeStart, (char)(c - 1), output);
                    output.Append(' ');
                    MoreDigits(1, lessDecimals, output);
                    output.Append(" | ");
                }
                DigitRange(c, '9', output);
                output.Append(' ');
                MoreDigits(0, lessDecimals, output);
            }
            else
            {
                var minText = Text(minValue);
                var length = minText.Length;
                var c = minText[0];
                if (c > '1')
                {
                    DigitRange(topLevel ? '1' : '0', (char)(c - 1), output);
                    output.Append(' ');
                    MoreDigits(length, lessDecimals, output);
                    output.Append(" | ");
                }
                DigitRange(c, c, output);
                output.Append(" (");
                Build(int.Parse(minText[1..], CultureInfo.InvariantCulture), NoMaximum, output, lessDecimals, topLevel: false);
                output.Append(')');
                if (c < '9')
                {
                    output.Append(" | ");
                    DigitRange((char)(c + 1), '9', output);
                    output.Append(' ');
                    MoreDigits(length - 1, lessDecimals, output);
                }
            }
            return;
        }

        if (hasMax)
        {
            if (maxValue >= 0)
            {
                if (topLevel)
                {
                    output.Append("\"-\" [1-9] ");
                    MoreDigits(0, lessDecimals, output);
                    output.Append(" | ");
                }
                Build(0, maxValue, output, decimalsLeft, topLevel: true);
            }
            else
            {
                output.Append("\"-\" (");
                Build(-maxValue, NoMaximum, output, decimalsLeft, topLevel: false);
                output.Append(')');
            }
            return;
        }

        throw new JsonSchemaConversionException("At least one of min_value or max_value must be set");
    }

    static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    static void DigitRange(char from, char to, StringBuilder output)
    {
        output.Append('[');
        if (from == to)
        {
            output.Append(from);
        }
        else
        {
            output.Append(from).Append('-').Append(to);
        }
        output.Append(']');
    }

    static void MoreDigits(int minDigits, int maxDigits, StringBuilder output)
    {
        output.Append("[0-9]");
        if (minDigits == maxDigits && minDigits == 1)
        {
            return;
        }
        output.Append('{').Append(minDigits);
        if (maxDigits != minDigits)
        {
            output.Append(',');
            if (maxDigits != int.MaxValue)
            {
                output.Append(maxDigits);
            }
        }
        output.Append('}');
    }

    // The numbers from `from` to `to`, both of the same number of digits.
    static void UniformRange(string from, string to, StringBuilder output)
    {
        var i = 0;
        while (i < from.Length && i < to.Length && from[i] == to[i])
        {
            i++;
        }
        if (i > 0)
        {
            output.Append('"').Append(from, 0, i).Append('"');
        }
        if (i >= from.Length || i >= to.Length)
        {
            return;
        }
        if (i > 0)
        {
            output.Append(' ');
        }
        var subLength = from.Length - i - 1;
        if (subLength == 0)
        {
            output.Append('[').Append(from[i]).Append('-').Append(to[i]).Append(']');
            return;
        }
        var fromSub = from[(i + 1)..];
        var toSub = to[(i + 1)..];
        var subZeros = new string('0', subLength);
        var subNines = new string('9', subLength);
        var toReached = false;
        output.Append('(');
        if (fromSub == subZeros)
        {
            DigitRange(from[i], (char)(to[i] - 1), output);
            output.Append(' ');
            MoreDigits(subLength, subLength, output);
        }
        else
        {
            output.Append('[').Append(from[i]).Append("] (");
            UniformRange(fromSub, subNines, output);
            output.Append(')');
            if (from[i] < to[i] - 1)
            {
                output.Append(" | ");
                if (toSub == subNines)
                {
                    DigitRange((char)(from[i] + 1), to[i], output);
                    toReached = true;
                }
                else
                {
                    DigitRange((char)(from[i] + 1), (char)(to[i] - 1), output);
                }
                output.Append(' ');
                MoreDigits(subLength, subLength, output);
            }
        }
        if (!toReached)
        {
            output.Append(" | ");
            DigitRange(to[i], to[i], output);
            output.Append(' ');
            UniformRange(subZeros, toSub, output);
        }
        output.Append(')');
    }
}
