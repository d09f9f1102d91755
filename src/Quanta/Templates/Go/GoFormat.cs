using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Go's <c>fmt</c> as templates use it: <c>%v</c> of every value the renderer knows (what an action prints),
/// <c>Sprint</c>/<c>Sprintln</c> spacing, and <c>Sprintf</c> for the common verbs (<c>%v %s %q %d %t %f %e %g %x %X %c %%</c>
/// with flags, width and precision), with Go's <c>%!d(string=x)</c>, <c>%!s(MISSING)</c> and <c>%!(EXTRA ...)</c> marks.
/// </summary>
internal static class GoFormat
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Go's <c>%v</c>.</summary>
    public static string Value(object? value)
    {
        var sb = new StringBuilder();
        AppendValue(sb, value);
        return sb.ToString();
    }

    static void AppendValue(StringBuilder sb, object? value)
    {
        if (GoValues.IsStringer(value))
        {
            sb.Append(value!.ToString());
            return;
        }
        switch (GoValues.KindOf(value))
        {
            case GoValues.Kind.Nil:
                sb.Append("<nil>");
                break;
            case GoValues.Kind.Invalid:
                sb.Append("<invalid reflect.Value>");
                break;
            case GoValues.Kind.Bool:
                sb.Append((bool)value! ? "true" : "false");
                break;
            case GoValues.Kind.Int:
                sb.Append(GoValues.ToInt64(value!).ToString(Invariant));
                break;
            case GoValues.Kind.Uint:
                sb.Append(GoValues.ToUInt64(value!).ToString(Invariant));
                break;
            case GoValues.Kind.Float:
                sb.Append(Float(GoValues.ToDouble(value!), 'g', -1));
                break;
            case GoValues.Kind.Complex:
                var c = (Complex)value!;
                var imaginary = Float(c.Imaginary, 'g', -1);
                sb.Append('(').Append(Float(c.Real, 'g', -1)).Append(imaginary[0] is '-' or '+' ? "" : "+").Append(imaginary).Append("i)");
                break;
            case GoValues.Kind.String:
                sb.Append((string)value!);
                break;
            case GoValues.Kind.Slice:
                sb.Append('[');
                var first = true;
                foreach (var item in (IList)value!)
                {
                    if (!first)
                    {
                        sb.Append(' ');
                    }
                    first = false;
                    AppendValue(sb, item);
                }
                sb.Append(']');
                break;
            case GoValues.Kind.Map:
                sb.Append("map[");
                var firstEntry = true;
                foreach (var (key, item) in GoValues.SortedEntries((IDictionary)value!))
                {
                    if (!firstEntry)
                    {
                        sb.Append(' ');
                    }
                    firstEntry = false;
                    AppendValue(sb, key);
                    sb.Append(':');
                    AppendValue(sb, item);
                }
                sb.Append(']');
                break;
            default:
                // An object stands for a Go value with a String method.
                sb.Append(value!.ToString());
                break;
        }
    }

    /// <summary>Go's <c>fmt.Sprint</c>: a space between operands when neither side is a string.</summary>
    public static string Sprint(IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string)
            {
                sb.Append(' ');
            }
            AppendValue(sb, args[i]);
        }
        return sb.ToString();
    }

    /// <summary>Go's <c>fmt.Sprintln</c>: operands separated by spaces, then a newline.</summary>
    public static string Sprintln(IReadOnlyList<object?> args) => string.Join(' ', args.Select(Value)) + "\n";

    /// <summary>Go's <c>strconv.FormatFloat(f, fmt, prec, 64)</c> for 'g', 'e' and 'f' (prec -1: the shortest exact form).</summary>
    public static string Float(double f, char format, int precision)
    {
        if (double.IsNaN(f))
        {
            return "NaN";
        }
        if (double.IsInfinity(f))
        {
            return f > 0 ? "+Inf" : "-Inf";
        }
        var sign = f < 0 || f == 0 && double.IsNegative(f) ? "-" : "";
        var magnitude = Math.Abs(f);
        if (format == 'f' && precision >= 0)
        {
            return sign + magnitude.ToString("F" + precision.ToString(Invariant), Invariant);
        }
        var sb = new StringBuilder(sign);
        if (format == 'e' && precision >= 0)
        {
            var (rounded, roundedPoint) = Parse(magnitude.ToString("E" + precision.ToString(Invariant), Invariant));
            AppendExponent(sb, rounded, precision, rounded == "0" ? 0 : roundedPoint - 1);
            return sb.ToString();
        }
        var (digits, point) = magnitude == 0 ? ("0", 1) : Parse(magnitude.ToString("R", Invariant));
        if (format == 'g' && precision > 0 && digits.Length > precision)
        {
            (digits, point) = Parse(magnitude.ToString("E" + (precision - 1).ToString(Invariant), Invariant));
        }
        var exponent = digits == "0" ? 0 : point - 1;
        switch (format)
        {
            case 'g':
                // Go: exponent form when the exponent is below -4 or at least the precision (6 for the shortest form).
                var eprec = precision < 0 ? 6 : Math.Max(precision, 1);
                if (exponent < -4 || exponent >= eprec)
                {
                    AppendExponent(sb, digits, digits.Length - 1, exponent);
                }
                else
                {
                    AppendFixed(sb, digits, point, Math.Max(digits.Length - point, 0));
                }
                break;
            case 'e':
                AppendExponent(sb, digits, digits.Length - 1, exponent);
                break;
            default:
                AppendFixed(sb, digits, point, Math.Max(digits.Length - point, 0));
                break;
        }
        return sb.ToString();
    }

    static void AppendFixed(StringBuilder sb, string digits, int point, int decimals)
    {
        if (point <= 0)
        {
            sb.Append('0');
        }
        else
        {
            for (var i = 0; i < point; i++)
            {
                sb.Append(i < digits.Length ? digits[i] : '0');
            }
        }
        if (decimals > 0)
        {
            sb.Append('.');
            for (var i = 0; i < decimals; i++)
            {
                var at = point + i;
                sb.Append(at >= 0 && at < digits.Length ? digits[at] : '0');
            }
        }
    }

    static void AppendExponent(StringBuilder sb, string digits, int decimals, int exponent)
    {
        sb.Append(digits[0]);
        if (decimals > 0)
        {
            sb.Append('.');
            for (var i = 1; i <= decimals; i++)
            {
                sb.Append(i < digits.Length ? digits[i] : '0');
            }
        }
        sb.Append('e').Append(exponent < 0 ? '-' : '+');
        var magnitude = Math.Abs(exponent);
        if (magnitude < 10)
        {
            sb.Append('0');
        }
        sb.Append(magnitude.ToString(Invariant));
    }

    /// <summary>"1.25E+003" or "0.00125" as digits without leading or trailing zeros ("125") and the point's place (4 or -2).</summary>
    static (string Digits, int Point) Parse(string text)
    {
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, Invariant);
            text = text[..e];
        }
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var integerDigits = dot < 0 ? text.Length : dot;
        var all = text.Replace(".", "", StringComparison.Ordinal);
        var leading = all.Length - all.TrimStart('0').Length;
        all = all.TrimStart('0').TrimEnd('0');
        if (all.Length == 0)
        {
            return ("0", 1);
        }
        return (all, integerDigits - leading + exponent);
    }

    /// <summary>Go's <c>fmt.Sprintf</c> for the verbs templates use.</summary>
    public static string Sprintf(string format, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        var argIndex = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var ch = format[i];
            if (ch != '%')
            {
                sb.Append(ch);
                continue;
            }
            i++;
            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }
            bool minus = false, plus = false, zero = false, space = false, sharp = false;
            for (; i < format.Length; i++)
            {
                var flag = format[i];
                if (flag == '-')
                {
                    minus = true;
                }
                else if (flag == '+')
                {
                    plus = true;
                }
                else if (flag == '0')
                {
                    zero = true;
                }
                else if (flag == ' ')
                {
                    space = true;
                }
                else if (flag == '#')
                {
                    sharp = true;
                }
                else
                {
                    break;
                }
            }
            var width = ReadNumber(format, ref i);
            var precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadNumber(format, ref i) ?? 0;
            }
            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }
            var verb = format[i];
            if (verb == '%')
            {
                sb.Append('%');
                continue;
            }
            if (argIndex >= args.Count)
            {
                sb.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }
            var spec = new Spec(verb, minus, plus, zero, space, sharp, width, precision);
            var text = args[argIndex] is null ? (verb == 'v' ? Pad(spec, "<nil>", numeric: false) : $"%!{verb}(<nil>)") : FormatArg(spec, args[argIndex]);
            argIndex++;
            sb.Append(text);
        }
        if (argIndex < args.Count)
        {
            sb.Append("%!(EXTRA ");
            sb.AppendJoin(", ", args.Skip(argIndex).Select(a => a is null ? "<nil>" : $"{GoValues.TypeName(a)}={Value(a)}"));
            sb.Append(')');
        }
        return sb.ToString();
    }

    static int? ReadNumber(string format, ref int i)
    {
        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }
        return i > start ? int.Parse(format.AsSpan(start, i - start), Invariant) : null;
    }

    /// <summary>A conversion as written: verb, flags, width and precision.</summary>
    readonly record struct Spec(char Verb, bool Minus, bool Plus, bool Zero, bool Space, bool Sharp, int? Width, int Precision);

    /// <summary>Pads to the width: spaces (or zeros after the sign, for numbers with the 0 flag), left or right.</summary>
    static string Pad(Spec spec, string text, bool numeric)
    {
        if (spec.Width is not { } w || text.Length >= w)
        {
            return text;
        }
        if (spec.Minus)
        {
            return text.PadRight(w);
        }
        if (numeric && spec.Zero)
        {
            return text.Length > 0 && text[0] is '-' or '+' ? text[0] + text[1..].PadLeft(w - 1, '0') : text.PadLeft(w, '0');
        }
        return text.PadLeft(w);
    }

    /// <summary>One argument: lists and maps element by element with the same verb (as Go's fmt does), else one value.</summary>
    static string FormatArg(Spec spec, object? arg)
    {
        if (GoValues.IsStringer(arg) && spec.Verb is 'v' or 's' or 'q' or 'x' or 'X')
        {
            return FormatLeaf(spec, arg!.ToString()!);
        }
        switch (arg)
        {
            case null:
                // Inside a list or map a nil prints as <nil> whatever the verb.
                return Pad(spec, "<nil>", numeric: false);
            case IList list:
                var sb = new StringBuilder("[");
                for (var i = 0; i < list.Count; i++)
                {
                    sb.Append(i > 0 ? " " : "").Append(FormatArg(spec, list[i]));
                }
                return sb.Append(']').ToString();
            case IDictionary map:
                var entries = new StringBuilder("map[");
                var first = true;
                foreach (var (key, value) in GoValues.SortedEntries(map))
                {
                    entries.Append(first ? "" : " ").Append(FormatArg(spec, key)).Append(':').Append(FormatArg(spec, value));
                    first = false;
                }
                return entries.Append(']').ToString();
            default:
                return FormatLeaf(spec, arg);
        }
    }

    static string FormatLeaf(Spec spec, object arg)
    {
        var kind = GoValues.KindOf(arg);
        var verb = spec.Verb;
        string Signed(string s) => s.StartsWith('-') ? s : spec.Plus ? "+" + s : spec.Space ? " " + s : s;
        // Go's %!verb(type=value), the value printed with %v and the same width.
        string Bad() => $"%!{verb}({GoValues.TypeName(arg)}={FormatLeaf(spec with { Verb = 'v', Plus = false, Space = false }, arg)})";
        switch (verb)
        {
            case 'v':
                return kind switch
                {
                    GoValues.Kind.Int or GoValues.Kind.Uint or GoValues.Kind.Float => Pad(spec, Signed(Value(arg)), numeric: true),
                    GoValues.Kind.String => Pad(spec, Truncate(spec, (string)arg), numeric: false),
                    _ => Pad(spec, Value(arg), numeric: false),
                };
            case 's':
                return kind switch
                {
                    GoValues.Kind.String => Pad(spec, Truncate(spec, (string)arg), numeric: false),
                    GoValues.Kind.Struct => Pad(spec, arg.ToString()!, numeric: false),
                    _ => Bad(),
                };
            case 'q':
                return kind switch
                {
                    GoValues.Kind.String => Pad(spec, spec.Sharp && !((string)arg).Contains('`', StringComparison.Ordinal) ? $"`{arg}`" : GoSyntax.Quote((string)arg), numeric: false),
                    GoValues.Kind.Int => Pad(spec, "'" + GoSyntax.Quote(new Rune((int)GoValues.ToInt64(arg)).ToString())[1..^1].Replace("'", "\\'", StringComparison.Ordinal) + "'", numeric: false),
                    _ => Bad(),
                };
            case 'd':
                return kind switch
                {
                    GoValues.Kind.Int => Pad(spec, Signed(GoValues.ToInt64(arg).ToString(Invariant)), numeric: true),
                    GoValues.Kind.Uint => Pad(spec, Signed(GoValues.ToUInt64(arg).ToString(Invariant)), numeric: true),
                    _ => Bad(),
                };
            case 't':
                return kind == GoValues.Kind.Bool ? Pad(spec, Value(arg), numeric: false) : Bad();
            case 'f' or 'F' or 'e' or 'E' or 'g' or 'G':
                if (kind != GoValues.Kind.Float)
                {
                    return Bad();
                }
                var lower = char.ToLowerInvariant(verb);
                var text = Float(GoValues.ToDouble(arg), lower, lower == 'g' ? spec.Precision : spec.Precision < 0 ? 6 : spec.Precision);
                return Pad(spec, Signed(verb is 'E' or 'G' ? text.ToUpperInvariant() : text), numeric: true);
            case 'x' or 'X':
                var hex = kind switch
                {
                    GoValues.Kind.Int => GoValues.ToInt64(arg) < 0
                        ? "-" + (spec.Sharp ? "0x" : "") + ((ulong)-GoValues.ToInt64(arg)).ToString("x", Invariant)
                        : (spec.Sharp ? "0x" : "") + GoValues.ToInt64(arg).ToString("x", Invariant),
                    GoValues.Kind.Uint => (spec.Sharp ? "0x" : "") + GoValues.ToUInt64(arg).ToString("x", Invariant),
                    GoValues.Kind.String => Convert.ToHexStringLower(Encoding.UTF8.GetBytes((string)arg)),
                    GoValues.Kind.Float => HexFloat(GoValues.ToDouble(arg)),
                    _ => null,
                };
                return hex is null ? Bad() : Pad(spec, Signed(verb == 'X' ? hex.ToUpperInvariant() : hex), numeric: kind != GoValues.Kind.String);
            case 'c':
                return kind == GoValues.Kind.Int ? Pad(spec, new Rune((int)GoValues.ToInt64(arg)).ToString(), numeric: false) : Bad();
            default:
                return Bad();
        }
    }

    /// <summary>A precision on a string keeps that many characters.</summary>
    static string Truncate(Spec spec, string s) =>
        spec.Precision >= 0 ? string.Concat(s.EnumerateRunes().Take(spec.Precision).Select(r => r.ToString())) : s;

    /// <summary>Go's <c>%x</c> of a float (<c>strconv.FormatFloat(f, 'x', -1, 64)</c>): <c>0x1.4p+01</c>.</summary>
    static string HexFloat(double f)
    {
        if (double.IsNaN(f) || double.IsInfinity(f))
        {
            return Float(f, 'g', -1);
        }
        var bits = BitConverter.DoubleToUInt64Bits(f);
        var negative = (bits >> 63) != 0;
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & ((1UL << 52) - 1);
        if (exponent == 0)
        {
            exponent++; // subnormal
        }
        else
        {
            mantissa |= 1UL << 52;
        }
        exponent -= 1023;
        if (mantissa == 0)
        {
            exponent = 0;
        }
        // The leading 1 (if any) at bit 60.
        mantissa <<= 8;
        while (mantissa != 0 && (mantissa & (1UL << 60)) == 0)
        {
            mantissa <<= 1;
            exponent--;
        }
        var sb = new StringBuilder(negative ? "-" : "");
        sb.Append("0x").Append((char)('0' + (int)((mantissa >> 60) & 1)));
        mantissa <<= 4;
        if (mantissa != 0)
        {
            sb.Append('.');
            while (mantissa != 0)
            {
                sb.Append("0123456789abcdef"[(int)((mantissa >> 60) & 15)]);
                mantissa <<= 4;
            }
        }
        sb.Append('p').Append(exponent < 0 ? '-' : '+');
        var magnitude = Math.Abs(exponent);
        sb.Append(magnitude.ToString(magnitude < 100 ? "D2" : "D", Invariant));
        return sb.ToString();
    }
}
