using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Quanta.Templates.Jinja;

/// <summary>The methods of a string value (<c>s.strip()</c>, <c>s.split(',')</c>...), as the runtime has them.</summary>
static partial class StringMethods
{
    [GeneratedRegex(@"\b\w", RegexOptions.ECMAScript)]
    private static partial Regex WordStart();

    /// <summary>Upper-cases the first letter of each ASCII word (JavaScript's <c>\b\w</c>).</summary>
    public static string TitleCase(string s) => WordStart().Replace(s, m => m.Value.ToUpperInvariant());

    public static string Capitalize(string s) => s.Length == 0 ? s : s[..1].ToUpperInvariant() + s[1..];

    static FunctionValue Method(Func<List<Value>, Value> body) => new((args, _) => body(args));

    public static Value? Get(StringValue self, string name)
    {
        var s = self.Value;
        return name switch
        {
            "upper" => Method(_ => new StringValue(s.ToUpperInvariant())),
            "lower" => Method(_ => new StringValue(s.ToLowerInvariant())),
            "strip" => Method(_ => new StringValue(Lexer.TrimJs(s))),
            "rstrip" => Method(_ => new StringValue(Lexer.TrimEndJs(s))),
            "lstrip" => Method(_ => new StringValue(Lexer.TrimStartJs(s))),
            "title" => Method(_ => new StringValue(TitleCase(s))),
            "capitalize" => Method(_ => new StringValue(Capitalize(s))),
            "length" => NumberValue.Integer(s.Length),
            "startswith" => Method(args => AffixTest(s, args, "startswith", (a, b) => a.StartsWith(b, StringComparison.Ordinal))),
            "endswith" => Method(args => AffixTest(s, args, "endswith", (a, b) => a.EndsWith(b, StringComparison.Ordinal))),
            "split" => Method(args => Split(s, args)),
            "replace" => Method(args => Replace(s, args)),
            _ => null,
        };
    }

    static BooleanValue AffixTest(string s, List<Value> args, string name, Func<string, string, bool> test)
    {
        if (args.Count == 0)
        {
            throw new JinjaError($"{name}() requires at least one argument");
        }
        switch (args[0])
        {
            case StringValue pattern:
                return BooleanValue.Of(test(s, pattern.Value));
            case ArrayValue patterns:
                foreach (var item in patterns.Items)
                {
                    if (item is not StringValue p)
                    {
                        throw new JinjaError($"{name}() tuple elements must be strings");
                    }
                    if (test(s, p.Value))
                    {
                        return BooleanValue.True;
                    }
                }
                return BooleanValue.False;
            default:
                throw new JinjaError($"{name}() argument must be a string or tuple of strings");
        }
    }

    /// <summary>Python's <c>str.split(sep=None, maxsplit=-1)</c>.</summary>
    static ArrayValue Split(string s, List<Value> args)
    {
        var sep = args.Count > 0 ? args[0] : NullValue.Instance;
        if (sep is not (StringValue or NullValue))
        {
            throw new JinjaError("sep argument must be a string or null");
        }
        var maxsplitValue = args.Count > 1 ? args[1] : NumberValue.Integer(-1);
        if (maxsplitValue is not NumberValue { IsFloat: false } maxsplitNumber)
        {
            throw new JinjaError("maxsplit argument must be a number");
        }
        double maxsplit = maxsplitNumber.Value;
        var result = new List<string>();
        if (sep is NullValue)
        {
            var text = Lexer.TrimStartJs(s);
            int i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && Lexer.IsWhitespace(text[i]))
                {
                    i++;
                }
                if (i >= text.Length)
                {
                    break;
                }
                int start = i;
                while (i < text.Length && !Lexer.IsWhitespace(text[i]))
                {
                    i++;
                }
                if (maxsplit >= 0 && result.Count >= maxsplit)
                {
                    result.Add(text[start..]);
                    break;
                }
                result.Add(text[start..i]);
            }
        }
        else
        {
            var separator = ((StringValue)sep).Value;
            if (separator.Length == 0)
            {
                throw new JinjaError("empty separator");
            }
            result = [.. s.Split(separator)];
            if (maxsplit >= 0 && result.Count > maxsplit)
            {
                int keep = (int)maxsplit;
                var rest = string.Join(separator, result.Skip(keep));
                result = [.. result.Take(keep), rest];
            }
        }
        return new ArrayValue([.. result.Select(x => (Value)new StringValue(x))]);
    }

    static StringValue Replace(string s, List<Value> args)
    {
        if (args.Count < 2)
        {
            throw new JinjaError("replace() requires at least two arguments");
        }
        if (args[0] is not StringValue oldValue || args[1] is not StringValue newValue)
        {
            throw new JinjaError("replace() arguments must be strings");
        }
        Value count = NullValue.Instance;
        if (args.Count > 2)
        {
            count = args[2] is ObjectValue { Kind: ObjectKind.KeywordArguments } kwargs
                ? kwargs.Entries.GetValueOrDefault("count") ?? NullValue.Instance
                : args[2];
        }
        if (count is not (NumberValue { IsFloat: false } or NullValue))
        {
            throw new JinjaError("replace() count argument must be a number or null");
        }
        double remaining = count is NumberValue n ? (n.Value < 0 ? double.PositiveInfinity : n.Value) : double.PositiveInfinity;
        return new StringValue(ReplaceCount(s, oldValue.Value, newValue.Value, remaining));
    }

    /// <summary>Replaces the first <paramref name="count"/> occurrences (all when infinite); an empty old string matches between every character.</summary>
    public static string ReplaceCount(string s, string oldValue, string newValue, double count)
    {
        if (count == 0)
        {
            return s;
        }
        var sb = new StringBuilder();
        if (oldValue.Length == 0)
        {
            // JavaScript's /(?=)/gu matches at every code point boundary, the end included.
            int i = 0;
            while (true)
            {
                if (count > 0)
                {
                    sb.Append(newValue);
                    count--;
                }
                if (i >= s.Length)
                {
                    break;
                }
                int width = char.IsSurrogatePair(s, i) ? 2 : 1;
                sb.Append(s, i, width);
                i += width;
            }
            return sb.ToString();
        }
        int last = 0;
        while (count > 0)
        {
            int at = s.IndexOf(oldValue, last, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }
            sb.Append(s, last, at - last).Append(newValue);
            last = at + oldValue.Length;
            count--;
        }
        return sb.Append(s, last, s.Length - last).ToString();
    }
}

/// <summary>The methods of a mapping: <c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>, <c>dictsort</c>.</summary>
static class DictMethods
{
    public static Value? Get(ObjectValue self, string name) => name switch
    {
        "get" => new FunctionValue((args, _) =>
        {
            if (args.Count == 0 || args[0] is not StringValue key)
            {
                throw new JinjaError($"Object key must be a string: got {(args.Count == 0 ? "UndefinedValue" : args[0].TypeName)}");
            }
            return self.Entries.GetValueOrDefault(key.Value) ?? (args.Count > 1 ? args[1] : NullValue.Instance);
        }),
        "items" => new FunctionValue((_, _) => self.Items()),
        "keys" => new FunctionValue((_, _) => self.Keys()),
        "values" => new FunctionValue((_, _) => new ArrayValue([.. self.Entries.Values])),
        "dictsort" => new FunctionValue((args, _) => DictSort(self, args)),
        _ => null,
    };

    static ArrayValue DictSort(ObjectValue self, List<Value> args)
    {
        var (positional, kwargs) = Runtime.SplitKeywords(args);
        var caseSensitive = positional.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("case_sensitive") ?? BooleanValue.False;
        if (caseSensitive is not BooleanValue cs)
        {
            throw new JinjaError("case_sensitive must be a boolean");
        }
        var by = positional.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("by") ?? new StringValue("key");
        if (by is not StringValue { Value: "key" or "value" } byName)
        {
            throw new JinjaError(by is StringValue ? "by must be either 'key' or 'value'" : "by must be a string");
        }
        var reverse = positional.ElementAtOrDefault(2) ?? kwargs.GetValueOrDefault("reverse") ?? BooleanValue.False;
        if (reverse is not BooleanValue rev)
        {
            throw new JinjaError("reverse must be a boolean");
        }
        int index = byName.Value == "key" ? 0 : 1;
        var items = self.Items().Items.Cast<ArrayValue>().ToList();
        var sorted = Runtime.StableSort(items, (a, b) =>
        {
            int r = Runtime.Compare(a.Items[index], b.Items[index], cs.Value);
            return rev.Value ? -r : r;
        });
        return new ArrayValue([.. sorted]);
    }
}

/// <summary>Comparisons, equality and the <c>is</c> tests, as the runtime defines them.</summary>
static class Runtime
{
    /// <summary>Splits a call's arguments into positional ones and the trailing keyword arguments.</summary>
    public static (List<Value> Positional, OrderedDictionary<string, Value> Keywords) SplitKeywords(List<Value> args)
    {
        if (args.Count > 0 && args[^1] is ObjectValue { Kind: ObjectKind.KeywordArguments } kwargs)
        {
            return (args[..^1], kwargs.Entries);
        }
        return (args, new OrderedDictionary<string, Value>(StringComparer.Ordinal));
    }

    /// <summary>A stable sort (JavaScript's <c>Array.prototype.sort</c> is stable).</summary>
    public static List<T> StableSort<T>(List<T> items, Comparison<T> comparison) =>
        [.. items.Select((item, i) => (Item: item, Index: i)).Order(Comparer<(T Item, int Index)>.Create((a, b) =>
        {
            int r = comparison(a.Item, b.Item);
            return r != 0 ? r : a.Index.CompareTo(b.Index);
        })).Select(x => x.Item)];

    static bool IsNumeric(Value v) => v is NumberValue or BooleanValue;

    static double Numeric(Value v) => v is BooleanValue b ? (b.Value ? 1 : 0) : ((NumberValue)v).Value;

    /// <summary>The order <c>sort</c> and <c>dictsort</c> use: numbers with numbers, strings with strings.</summary>
    public static int Compare(Value a, Value b, bool caseSensitive)
    {
        if (a is NullValue && b is NullValue)
        {
            return 0;
        }
        if (a is NullValue || b is NullValue)
        {
            throw new JinjaError($"Cannot compare {a.TypeName} with {b.TypeName}");
        }
        if (a is UndefinedValue && b is UndefinedValue)
        {
            return 0;
        }
        if (a is UndefinedValue || b is UndefinedValue)
        {
            throw new JinjaError($"Cannot compare {a.TypeName} with {b.TypeName}");
        }
        if (IsNumeric(a) && IsNumeric(b))
        {
            double x = Numeric(a), y = Numeric(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a.TypeName != b.TypeName)
        {
            throw new JinjaError($"Cannot compare different types: {a.TypeName} and {b.TypeName}");
        }
        if (a is StringValue sa && b is StringValue sb)
        {
            var x = caseSensitive ? sa.Value : sa.Value.ToLowerInvariant();
            var y = caseSensitive ? sb.Value : sb.Value.ToLowerInvariant();
            return Math.Sign(string.CompareOrdinal(x, y));
        }
        throw new JinjaError($"Cannot compare type: {a.TypeName}");
    }

    /// <summary>JavaScript's <c>===</c> on the underlying values (<c>in</c>, <c>unique</c>, <c>equalto</c>).</summary>
    public static bool StrictEquals(Value a, Value b) => (a, b) switch
    {
        (NullValue or UndefinedValue, NullValue or UndefinedValue) => true,
        (NumberValue x, NumberValue y) => x.Value == y.Value,
        (StringValue x, StringValue y) => x.Value == y.Value,
        (BooleanValue x, BooleanValue y) => x.Value == y.Value,
        (ArrayValue x, ArrayValue y) => ReferenceEquals(x.Items, y.Items),
        (ObjectValue x, ObjectValue y) => ReferenceEquals(x.Entries, y.Entries),
        _ => ReferenceEquals(a, b),
    };

    /// <summary>JavaScript's <c>==</c> on the underlying values (the template's <c>==</c> and <c>!=</c>).</summary>
    public static bool LooseEquals(Value a, Value b)
    {
        if (a is NullValue or UndefinedValue || b is NullValue or UndefinedValue)
        {
            return a is NullValue or UndefinedValue && b is NullValue or UndefinedValue;
        }
        if (a is ArrayValue or ObjectValue or FunctionValue || b is ArrayValue or ObjectValue or FunctionValue)
        {
            if (a is ArrayValue or ObjectValue or FunctionValue && b is ArrayValue or ObjectValue or FunctionValue)
            {
                return StrictEquals(a, b);
            }
            // An object against a primitive compares its string form (an array joins with commas).
            var primitive = a is ArrayValue or ObjectValue or FunctionValue ? b : a;
            var obj = ReferenceEquals(primitive, a) ? b : a;
            var text = obj is ArrayValue arr ? string.Join(",", arr.Items.Select(JoinText)) : "[object Object]";
            return LooseEquals(primitive, new StringValue(text));
        }
        if (a is StringValue sa && b is StringValue sb)
        {
            return sa.Value == sb.Value;
        }
        return ToNumber(a) == ToNumber(b);
    }

    /// <summary>How JavaScript's <c>Array.prototype.join</c> writes an element: null and undefined as nothing.</summary>
    public static string JoinText(Value v) => v switch
    {
        NullValue or UndefinedValue => "",
        ArrayValue a => string.Join(",", a.Items.Select(JoinText)),
        ObjectValue => "[object Object]",
        _ => v.ToString(),
    };

    /// <summary>JavaScript's <c>Number(x)</c> for a primitive.</summary>
    public static double ToNumber(Value v)
    {
        switch (v)
        {
            case NumberValue n:
                return n.Value;
            case BooleanValue b:
                return b.Value ? 1 : 0;
            case StringValue s:
            {
                var t = Lexer.TrimJs(s.Value);
                if (t.Length == 0)
                {
                    return 0;
                }
                if (t is "Infinity" or "+Infinity")
                {
                    return double.PositiveInfinity;
                }
                if (t == "-Infinity")
                {
                    return double.NegativeInfinity;
                }
                if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                {
                    return hex;
                }
                return t.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-')
                    && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
            }
            default:
                return double.NaN;
        }
    }

    /// <summary>The tests of <c>x is name</c>.</summary>
    public static bool Test(string name, Value operand, Value? argument) => name switch
    {
        "boolean" => operand is BooleanValue,
        "callable" => operand is FunctionValue,
        "odd" => operand is NumberValue { IsFloat: false } n ? n.Value % 2 != 0 : throw new JinjaError($"cannot odd on {operand.TypeName}"),
        "even" => operand is NumberValue { IsFloat: false } n ? n.Value % 2 == 0 : throw new JinjaError($"cannot even on {operand.TypeName}"),
        "false" => operand is BooleanValue { Value: false },
        "true" => operand is BooleanValue { Value: true },
        "none" => operand is NullValue,
        "string" => operand is StringValue,
        "number" => operand is NumberValue,
        "integer" => operand is NumberValue { IsFloat: false },
        "iterable" => operand is ArrayValue { IsTuple: false } or StringValue,
        "mapping" => operand is ObjectValue { IsMapping: true },
        "sequence" => operand is ArrayValue or ObjectValue { IsMapping: true } or StringValue,
        "lower" => operand is StringValue s && s.Value == s.Value.ToLowerInvariant(),
        "upper" => operand is StringValue s && s.Value == s.Value.ToUpperInvariant(),
        "defined" => operand is not UndefinedValue,
        "undefined" => operand is UndefinedValue,
        "equalto" or "eq" => StrictEquals(operand, argument ?? UndefinedValue.Instance),
        _ => throw new JinjaError($"Unknown test: {name}"),
    };

    public static bool IsTest(string name) => name is "boolean" or "callable" or "odd" or "even" or "false" or "true" or "none"
        or "string" or "number" or "integer" or "iterable" or "mapping" or "sequence" or "lower" or "upper" or "defined"
        or "undefined" or "equalto" or "eq";
}
