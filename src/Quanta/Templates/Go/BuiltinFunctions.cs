using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Go's template built-ins (<c>text/template/funcs.go</c>): <c>and or not len index slice eq ne lt le gt ge print
/// printf println html js urlquery call</c>, with Go's comparison rules (ints and uints compare across signs, an int
/// never equals a float) and error texts.
/// </summary>
internal static class BuiltinFunctions
{
    const string BadComparisonType = "invalid type for comparison";
    const string BadComparison = "incompatible types for comparison";

    static readonly ParameterKind[] OneValue = [ParameterKind.Value];
    static readonly ParameterKind[] TwoValues = [ParameterKind.Value, ParameterKind.Value];

    public static IReadOnlyDictionary<string, TemplateFunction> All { get; } = new Dictionary<string, TemplateFunction>(StringComparer.Ordinal)
    {
        ["and"] = new(_ => null, OneValue, ParameterKind.Value) { ShortCircuit = false },
        ["or"] = new(_ => null, OneValue, ParameterKind.Value) { ShortCircuit = true },
        ["not"] = new(a => !GoValues.IsTrue(a[0]), OneValue),
        ["len"] = new(a => Length(a[0]), OneValue),
        ["index"] = new(a => Index(a[0], a.Skip(1).ToList()), OneValue, ParameterKind.Value),
        ["slice"] = new(a => Slice(a[0], a.Skip(1).ToList()), OneValue, ParameterKind.Value),
        ["eq"] = new(a => Equal(a[0], a.Skip(1).ToList()), OneValue, ParameterKind.Value),
        ["ne"] = new(a => !Equal(a[0], [a[1]]), TwoValues),
        ["lt"] = new(a => Less(a[0], a[1]), TwoValues),
        ["le"] = new(a => Less(a[0], a[1]) || Equal(a[0], [a[1]]), TwoValues),
        ["gt"] = new(a => !(Less(a[0], a[1]) || Equal(a[0], [a[1]])), TwoValues),
        ["ge"] = new(a => !Less(a[0], a[1]), TwoValues),
        ["print"] = new(a => GoFormat.Sprint(a), [], ParameterKind.Any),
        ["printf"] = new(a => GoFormat.Sprintf((string)a[0]!, a.Skip(1).ToList()), [ParameterKind.String], ParameterKind.Any),
        ["println"] = new(a => GoFormat.Sprintln(a), [], ParameterKind.Any),
        ["html"] = new(a => HtmlEscape(Arguments(a)), [], ParameterKind.Any),
        ["js"] = new(a => JsEscape(Arguments(a)), [], ParameterKind.Any),
        ["urlquery"] = new(a => QueryEscape(Arguments(a)), [], ParameterKind.Any),
        ["call"] = new(a => Call(a[0], a.Skip(1).ToList()), OneValue, ParameterKind.Value),
    };

    /// <summary>A nil interface is no value for the comparison and indexing functions (Go's <c>indirectInterface</c>).</summary>
    static object? Indirect(object? value) => value ?? GoValues.Invalid;

    static long Length(object? item) => item switch
    {
        null => throw new TemplateFunctionException("len of nil pointer"),
        string s => Encoding.UTF8.GetByteCount(s),
        IList list => list.Count,
        IDictionary map => map.Count,
        _ => throw new TemplateFunctionException($"len of type {GoValues.TypeName(item)}"),
    };

    static int IndexArgument(object? index, int cap)
    {
        index = Indirect(index);
        var x = GoValues.KindOf(index) switch
        {
            GoValues.Kind.Int => GoValues.ToInt64(index!),
            GoValues.Kind.Uint => (long)GoValues.ToUInt64(index!),
            GoValues.Kind.Invalid => throw new TemplateFunctionException("cannot index slice/array with nil"),
            _ => throw new TemplateFunctionException($"cannot index slice/array with type {GoValues.TypeName(index)}"),
        };
        return x < 0 || x > cap ? throw new TemplateFunctionException($"index out of range: {x}") : (int)x;
    }

    static object? Index(object? item, IReadOnlyList<object?> indexes)
    {
        item = Indirect(item);
        if (ReferenceEquals(item, GoValues.Invalid))
        {
            throw new TemplateFunctionException("index of untyped nil");
        }
        foreach (var index in indexes)
        {
            switch (item)
            {
                case null:
                    throw new TemplateFunctionException("index of nil pointer");
                case string s:
                    var bytes = GoValues.Bytes(s);
                    var b = IndexArgument(index, bytes.Length);
                    item = b == bytes.Length ? throw new TemplateFunctionException($"index out of range: {b}") : bytes[b];
                    break;
                case IList list:
                    var i = IndexArgument(index, list.Count);
                    item = i == list.Count ? throw new TemplateFunctionException($"index out of range: {i}") : list[i];
                    break;
                case IDictionary map:
                    var key = Indirect(index);
                    if (key is not string && map.GetType().GetGenericArguments() is [var keyType, ..] && keyType == typeof(string))
                    {
                        throw new TemplateFunctionException($"value has type {GoValues.TypeName(key)}; should be string");
                    }
                    item = key is not null && map.Contains(key) ? map[key] : null;
                    break;
                default:
                    throw new TemplateFunctionException($"can't index item of type {GoValues.TypeName(item)}");
            }
        }
        return item;
    }

    static object? Slice(object? item, IReadOnlyList<object?> indexes)
    {
        item = Indirect(item);
        if (ReferenceEquals(item, GoValues.Invalid))
        {
            throw new TemplateFunctionException("slice of untyped nil");
        }
        if (indexes.Count > 3)
        {
            throw new TemplateFunctionException($"too many slice indexes: {indexes.Count}");
        }
        int length;
        switch (item)
        {
            case string s:
                if (indexes.Count == 3)
                {
                    throw new TemplateFunctionException("cannot 3-index slice a string");
                }
                length = Encoding.UTF8.GetByteCount(s);
                break;
            case IList list:
                length = list.Count;
                break;
            default:
                throw new TemplateFunctionException($"can't slice item of type {GoValues.TypeName(item)}");
        }
        int[] bounds = [0, length, length];
        for (var i = 0; i < indexes.Count; i++)
        {
            bounds[i] = IndexArgument(indexes[i], length);
        }
        if (bounds[0] > bounds[1])
        {
            throw new TemplateFunctionException($"invalid slice index: {bounds[0]} > {bounds[1]}");
        }
        if (indexes.Count == 3 && bounds[1] > bounds[2])
        {
            throw new TemplateFunctionException($"invalid slice index: {bounds[1]} > {bounds[2]}");
        }
        if (item is string text)
        {
            return Encoding.UTF8.GetString(GoValues.Bytes(text), bounds[0], bounds[1] - bounds[0]);
        }
        var source = (IList)item;
        var result = new List<object?>(bounds[1] - bounds[0]);
        for (var i = bounds[0]; i < bounds[1]; i++)
        {
            result.Add(source[i]);
        }
        return result;
    }

    enum BasicKind { Invalid, Bool, Complex, Int, Float, String, Uint, Other }

    static BasicKind BasicKindOf(object? value) => GoValues.KindOf(value) switch
    {
        GoValues.Kind.Invalid => BasicKind.Invalid,
        GoValues.Kind.Bool => BasicKind.Bool,
        GoValues.Kind.Complex => BasicKind.Complex,
        GoValues.Kind.Int => BasicKind.Int,
        GoValues.Kind.Float => BasicKind.Float,
        GoValues.Kind.String => BasicKind.String,
        GoValues.Kind.Uint => BasicKind.Uint,
        _ => BasicKind.Other,
    };

    /// <summary>Go's <c>eq arg1 arg2...</c>: true when <paramref name="first"/> equals any of the others.</summary>
    static bool Equal(object? first, IReadOnlyList<object?> others)
    {
        first = Indirect(first);
        if (others.Count == 0)
        {
            throw new TemplateFunctionException("missing argument for comparison");
        }
        var k1 = BasicKindOf(first);
        foreach (var raw in others)
        {
            var other = Indirect(raw);
            var k2 = BasicKindOf(other);
            bool truth;
            if (k1 != k2)
            {
                if (k1 == BasicKind.Int && k2 == BasicKind.Uint)
                {
                    truth = GoValues.ToInt64(first!) >= 0 && (ulong)GoValues.ToInt64(first!) == GoValues.ToUInt64(other!);
                }
                else if (k1 == BasicKind.Uint && k2 == BasicKind.Int)
                {
                    truth = GoValues.ToInt64(other!) >= 0 && GoValues.ToUInt64(first!) == (ulong)GoValues.ToInt64(other!);
                }
                else if (k1 != BasicKind.Invalid && k2 != BasicKind.Invalid)
                {
                    throw new TemplateFunctionException(BadComparison);
                }
                else
                {
                    truth = false;
                }
            }
            else
            {
                truth = k1 switch
                {
                    BasicKind.Invalid => true,
                    BasicKind.Bool => (bool)first! == (bool)other!,
                    BasicKind.Complex => (Complex)first! == (Complex)other!,
                    BasicKind.Float => GoValues.ToDouble(first!) == GoValues.ToDouble(other!),
                    BasicKind.Int => GoValues.ToInt64(first!) == GoValues.ToInt64(other!),
                    BasicKind.String => (string)first! == (string)other!,
                    BasicKind.Uint => GoValues.ToUInt64(first!) == GoValues.ToUInt64(other!),
                    _ => CompareOther(first, other),
                };
            }
            if (truth)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>eq on values that are not numbers, strings or bools: lists and maps cannot be compared, as in Go.</summary>
    static bool CompareOther(object? a, object? b)
    {
        if (GoValues.KindOf(a) != GoValues.KindOf(b))
        {
            throw new TemplateFunctionException($"non-comparable types {GoFormat.Value(a)}: {GoValues.TypeName(a)}, {GoValues.TypeName(b)}: {GoFormat.Value(b)}");
        }
        if (b is IList or IDictionary)
        {
            throw new TemplateFunctionException($"non-comparable type {GoFormat.Value(b)}: {GoValues.TypeName(b)}");
        }
        return Equals(a, b);
    }

    /// <summary>Go's <c>lt</c>: numbers and strings only; ints and uints compare across signs.</summary>
    static bool Less(object? a, object? b)
    {
        a = Indirect(a);
        b = Indirect(b);
        var k1 = BasicKindOf(a);
        var k2 = BasicKindOf(b);
        if (k1 is BasicKind.Invalid or BasicKind.Other || k2 is BasicKind.Invalid or BasicKind.Other)
        {
            throw new TemplateFunctionException(BadComparisonType);
        }
        if (k1 != k2)
        {
            return (k1, k2) switch
            {
                (BasicKind.Int, BasicKind.Uint) => GoValues.ToInt64(a!) < 0 || (ulong)GoValues.ToInt64(a!) < GoValues.ToUInt64(b!),
                (BasicKind.Uint, BasicKind.Int) => GoValues.ToInt64(b!) >= 0 && GoValues.ToUInt64(a!) < (ulong)GoValues.ToInt64(b!),
                _ => throw new TemplateFunctionException(BadComparison),
            };
        }
        return k1 switch
        {
            BasicKind.Float => GoValues.ToDouble(a!) < GoValues.ToDouble(b!),
            BasicKind.Int => GoValues.ToInt64(a!) < GoValues.ToInt64(b!),
            BasicKind.Uint => GoValues.ToUInt64(a!) < GoValues.ToUInt64(b!),
            BasicKind.String => string.CompareOrdinal((string)a!, (string)b!) < 0,
            _ => throw new TemplateFunctionException(BadComparisonType),
        };
    }

    /// <summary>The text the escaping functions work on: a lone string as is, else Go's <c>fmt.Sprint</c> of all.</summary>
    static string Arguments(IReadOnlyList<object?> args) =>
        args is [string s] ? s : GoFormat.Sprint([.. args.Select(a => a ?? "<no value>")]); // Go's printableValue of a nil

    /// <summary>Go's <c>template.HTMLEscapeString</c>.</summary>
    static string HtmlEscape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "&#34;",
                '\'' => "&#39;",
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '\0' => "\uFFFD",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>Go's <c>template.JSEscapeString</c>.</summary>
    static string JsEscape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var rune in s.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\'': sb.Append(@"\'"); break;
                case '"': sb.Append("\\\""); break;
                case '<': sb.Append(@"\u003C"); break;
                case '>': sb.Append(@"\u003E"); break;
                case '&': sb.Append(@"\u0026"); break;
                case '=': sb.Append(@"\u003D"); break;
                default:
                    if (GoSyntax.IsPrint(rune))
                    {
                        sb.Append(rune.ToString());
                    }
                    else
                    {
                        sb.Append(@"\u").Append(rune.Value.ToString("X4", CultureInfo.InvariantCulture));
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Go's <c>url.QueryEscape</c>: unreserved characters kept, space as '+', the rest as %XX.</summary>
    static string QueryEscape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else if (b == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return sb.ToString();
    }

    static object? Call(object? function, IReadOnlyList<object?> args)
    {
        function = Indirect(function);
        if (ReferenceEquals(function, GoValues.Invalid))
        {
            throw new TemplateFunctionException("call of nil");
        }
        if (function is not Delegate callable)
        {
            throw new TemplateFunctionException($"non-function of type {GoValues.TypeName(function)}");
        }
        try
        {
            return callable.DynamicInvoke([.. args]);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new TemplateFunctionException(e.InnerException.Message, e.InnerException);
        }
    }
}
