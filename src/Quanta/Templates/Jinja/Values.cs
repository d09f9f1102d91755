using System.Text;

namespace Quanta.Templates.Jinja;

/// <summary>
/// A runtime value, with the types of @huggingface/jinja's runtime: undefined, none, booleans, integers and floats
/// (both JavaScript numbers underneath, so integer arithmetic is exact only up to 2^53 as there), strings, arrays
/// and tuples, objects (mappings, in insertion order), namespaces and functions.
/// </summary>
abstract class Value
{
    /// <summary>The runtime's name for the type, as its error messages spell it.</summary>
    public abstract string TypeName { get; }

    /// <summary>Python truthiness: empty strings, arrays and objects and zero are false.</summary>
    public abstract bool IsTrue { get; }

    /// <summary>How the value prints in <c>{{ }}</c> and with <c>~</c>.</summary>
    public abstract override string ToString();

    /// <summary>A value's built-in attribute (<c>"abc".upper</c>, <c>list.length</c>, <c>dict.items</c>).</summary>
    public virtual Value? Builtin(string name) => null;
}

sealed class UndefinedValue : Value
{
    public static readonly UndefinedValue Instance = new();

    public override string TypeName => "UndefinedValue";

    public override bool IsTrue => false;

    public override string ToString() => "undefined";
}

sealed class NullValue : Value
{
    public static readonly NullValue Instance = new();

    public override string TypeName => "NullValue";

    public override bool IsTrue => false;

    public override string ToString() => "undefined";
}

sealed class BooleanValue(bool value) : Value
{
    public static readonly BooleanValue True = new(true);
    public static readonly BooleanValue False = new(false);

    public bool Value { get; } = value;

    public static BooleanValue Of(bool value) => value ? True : False;

    public override string TypeName => "BooleanValue";

    public override bool IsTrue => Value;

    public override string ToString() => Value ? "true" : "false";
}

/// <summary>An integer or a float; both hold a double, as JavaScript numbers do, and differ in how they print.</summary>
sealed class NumberValue(double value, bool isFloat) : Value
{
    public double Value { get; } = value;

    public bool IsFloat { get; } = isFloat;

    public static NumberValue Integer(double value) => new(value, false);

    public static NumberValue Float(double value) => new(value, true);

    public override string TypeName => IsFloat ? "FloatValue" : "IntegerValue";

    public override bool IsTrue => Value != 0 && !double.IsNaN(Value);

    public override string ToString()
    {
        if (!IsFloat)
        {
            return JsText.Number(Value);
        }
        if (Value == 0 && double.IsNegative(Value))
        {
            return "-0.0";
        }
        return Value % 1 == 0 ? JsText.Fixed1(Value) : JsText.Number(Value);
    }
}

sealed class StringValue(string value) : Value
{
    public string Value { get; } = value;

    public override string TypeName => "StringValue";

    public override bool IsTrue => Value.Length > 0;

    public override string ToString() => Value;

    public override Value? Builtin(string name) => StringMethods.Get(this, name);
}

/// <summary>A list, or a tuple (which behaves as a list everywhere but in its type name).</summary>
sealed class ArrayValue(List<Value> items, bool isTuple = false) : Value
{
    public List<Value> Items { get; } = items;

    public bool IsTuple { get; } = isTuple;

    public override string TypeName => IsTuple ? "TupleValue" : "ArrayValue";

    public override bool IsTrue => Items.Count > 0;

    public override string ToString() => JsText.ToJson(this, null, convertUndefinedToNull: false);

    public override Value? Builtin(string name) => name == "length" ? NumberValue.Integer(Items.Count) : null;
}

enum ObjectKind
{
    /// <summary>A mapping: a dict literal, the data passed in, <c>loop</c>.</summary>
    Object,

    /// <summary>The keyword arguments of a call, passed to a function as its last argument.</summary>
    KeywordArguments,

    /// <summary>What <c>namespace()</c> returns: attributes can be assigned, and it is not a mapping.</summary>
    Namespace,
}

sealed class ObjectValue(OrderedDictionary<string, Value> entries, ObjectKind kind = ObjectKind.Object) : Value
{
    public OrderedDictionary<string, Value> Entries { get; } = entries;

    public ObjectKind Kind { get; } = kind;

    public bool IsMapping => Kind != ObjectKind.Namespace;

    public override string TypeName => Kind switch
    {
        ObjectKind.KeywordArguments => "KeywordArgumentsValue",
        ObjectKind.Namespace => "NamespaceValue",
        _ => "ObjectValue",
    };

    // A namespace is a JavaScript object underneath: always true.
    public override bool IsTrue => Kind == ObjectKind.Namespace || Entries.Count > 0;

    public override string ToString() => JsText.ToJson(this, null, convertUndefinedToNull: false);

    public override Value? Builtin(string name) => IsMapping ? DictMethods.Get(this, name) : null;

    public ArrayValue Items() => new([.. Entries.Select(e => (Value)new ArrayValue([new StringValue(e.Key), e.Value]))]);

    public ArrayValue Keys() => new([.. Entries.Keys.Select(k => (Value)new StringValue(k))]);
}

/// <summary>A callable: a macro, a global such as <c>range</c>, a string or dict method.</summary>
sealed class FunctionValue(Func<List<Value>, Scope, Value> call) : Value
{
    public Func<List<Value>, Scope, Value> Call { get; } = call;

    public override string TypeName => "FunctionValue";

    public override bool IsTrue => true;

    public override string ToString() => "[function]";
}

/// <summary>A variable scope: a for body, a macro call, the globals.</summary>
sealed class Scope(Scope? parent)
{
    readonly Dictionary<string, Value> _variables = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    /// <summary>Set where a <c>{% call %}</c> block calls its macro: the macro then sees <c>caller</c>.</summary>
    public bool IsCallBlock { get; init; }

    public void Set(string name, Value value) => _variables[name] = value;

    public bool TryGetLocal(string name, out Value value) => _variables.TryGetValue(name, out value!);

    public Value Lookup(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out var value))
            {
                return value;
            }
        }
        return UndefinedValue.Instance;
    }
}

/// <summary>JavaScript's ways of writing numbers and JSON, which the runtime's output follows.</summary>
static class JsText
{
    /// <summary><c>Number.prototype.toString()</c>: the shortest round-trip digits, exponent form outside 1e-7..1e21.</summary>
    public static string Number(double value)
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
            return "0";
        }
        // .NET's "R" gives the shortest digits that round-trip, as JavaScript picks them; only the layout differs.
        var shortest = Math.Abs(value).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        int e = shortest.IndexOfAny(['E', 'e']);
        var mantissa = e >= 0 ? shortest[..e] : shortest;
        int exp10 = e >= 0 ? int.Parse(shortest[(e + 1)..], System.Globalization.CultureInfo.InvariantCulture) : 0;
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        var all = (intPart + fracPart).TrimStart('0');
        int leadingZeros = (intPart + fracPart).Length - all.Length;
        var digits = all.TrimEnd('0');
        // value = 0.d1d2... * 10^exponent
        int exponent = intPart.Length - leadingZeros + exp10;
        var sb = new StringBuilder();
        if (value < 0)
        {
            sb.Append('-');
        }
        int k = digits.Length, n = exponent;
        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }
            sb.Append('e').Append(n - 1 >= 0 ? "+" : "-").Append(Math.Abs(n - 1));
        }
        return sb.ToString();
    }

    /// <summary><c>Number.prototype.toFixed(1)</c> for a whole number.</summary>
    public static string Fixed1(double value) => Math.Abs(value) >= 1e21 ? Number(value) : Number(value) + ".0";

    /// <summary><c>JSON.stringify</c> of a string: quotes, backslashes and control characters escaped, nothing else.</summary>
    public static string Quote(string s, bool ensureAscii = false)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    bool loneSurrogate = char.IsHighSurrogate(c) ? !(i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                        : char.IsLowSurrogate(c) && !(i > 0 && char.IsHighSurrogate(s[i - 1]));
                    if (c < 0x20 || loneSurrogate || (ensureAscii && c >= 0x7f))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>
    /// The runtime's <c>toJSON</c>: Python's separators (<c>", "</c> and <c>": "</c>, or <c>","</c> with an indent),
    /// undefined as null (or as <c>undefined</c> when printing a list), keys in insertion order unless sorted.
    /// </summary>
    public static string ToJson(Value value, int? indent, bool convertUndefinedToNull = true, bool ensureAscii = false,
        bool sortKeys = false, (string Item, string Key)? separators = null, int depth = 0)
    {
        var (itemSeparator, keySeparator) = separators ?? (indent is > 0 ? (",", ": ") : (", ", ": "));
        switch (value)
        {
            case NullValue:
                return "null";
            case UndefinedValue:
                return convertUndefinedToNull ? "null" : "undefined";
            case NumberValue n:
                return double.IsFinite(n.Value) ? Number(n.Value) : "null";
            case BooleanValue b:
                return b.ToString();
            case StringValue s:
                return Quote(s.Value, ensureAscii);
            case ArrayValue a when !a.IsTuple:
            {
                var indentText = indent is > 0 ? new string(' ', indent.Value) : "";
                var basePadding = "\n" + string.Concat(Enumerable.Repeat(indentText, depth));
                var childPadding = basePadding + indentText;
                var core = a.Items.Select(x => ToJson(x, indent, convertUndefinedToNull, ensureAscii, sortKeys, separators, depth + 1)).ToList();
                return indent is > 0 && core.Count > 0
                    ? $"[{childPadding}{string.Join(itemSeparator + childPadding, core)}{basePadding}]"
                    : $"[{string.Join(itemSeparator, core)}]";
            }
            case ObjectValue o when o.Kind != ObjectKind.KeywordArguments:
            {
                var indentText = indent is > 0 ? new string(' ', indent.Value) : "";
                var basePadding = "\n" + string.Concat(Enumerable.Repeat(indentText, depth));
                var childPadding = basePadding + indentText;
                IEnumerable<KeyValuePair<string, Value>> entries = o.Entries;
                if (sortKeys)
                {
                    entries = entries.OrderBy(e => e.Key, StringComparer.InvariantCulture);
                }
                var core = entries.Select(e =>
                {
                    var v = $"{Quote(e.Key, ensureAscii)}{keySeparator}{ToJson(e.Value, indent, convertUndefinedToNull, ensureAscii, sortKeys, separators, depth + 1)}";
                    return indent is > 0 ? childPadding + v : v;
                }).ToList();
                return indent is > 0 && core.Count > 0
                    ? $"{{{string.Join(itemSeparator, core)}{basePadding}}}"
                    : $"{{{string.Join(itemSeparator, core)}}}";
            }
            default:
                throw new JinjaError($"Cannot convert to JSON: {value.TypeName}");
        }
    }
}
