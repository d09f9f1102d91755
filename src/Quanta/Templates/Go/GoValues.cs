using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Reflection;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// How the renderer sees .NET values as Go values. The data model is what a JSON document decodes to in Go
/// (<c>map[string]any</c>, <c>[]any</c>, <c>string</c>, <c>float64</c>, <c>bool</c>, <c>nil</c>), plus .NET integers
/// (Go's <c>int</c>), dictionaries and lists of any element type, and objects whose public properties are read as
/// struct fields. <c>null</c> is a nil interface; <see cref="Invalid"/> is Go's zero <c>reflect.Value</c>, what a
/// pipeline yields for a missing key and what prints as <c>&lt;no value&gt;</c>.
/// </summary>
internal static class GoValues
{
    /// <summary>Go's invalid (zero) <c>reflect.Value</c>.</summary>
    public static readonly object Invalid = new InvalidValue();

    sealed class InvalidValue
    {
        public override string ToString() => "<invalid reflect.Value>";
    }

    public enum Kind { Invalid, Nil, Bool, Int, Uint, Float, Complex, String, Slice, Map, Struct }

    public static Kind KindOf(object? value) => value switch
    {
        null => Kind.Nil,
        _ when ReferenceEquals(value, Invalid) => Kind.Invalid,
        bool => Kind.Bool,
        sbyte or short or int or long => Kind.Int,
        byte or ushort or uint or ulong => Kind.Uint,
        float or double => Kind.Float,
        Complex => Kind.Complex,
        string => Kind.String,
        IDictionary => Kind.Map,
        IList => Kind.Slice,
        _ => Kind.Struct,
    };

    public static long ToInt64(object value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    public static ulong ToUInt64(object value) => Convert.ToUInt64(value, CultureInfo.InvariantCulture);

    public static double ToDouble(object value) => Convert.ToDouble(value, CultureInfo.InvariantCulture);

    /// <summary>Go's type name, as error messages and <c>%!(EXTRA ...)</c> show it.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "<nil>",
        _ when ReferenceEquals(value, Invalid) => "<invalid Value>",
        bool => "bool",
        int or long => "int",
        sbyte => "int8",
        short => "int16",
        byte => "uint8",
        ushort => "uint16",
        uint => "uint32",
        ulong => "uint64",
        float => "float32",
        double => "float64",
        Complex => "complex128",
        string => "string",
        IDictionary => "map[string]interface {}",
        IList => "[]interface {}",
        _ => value.GetType().Name,
    };

    /// <summary>Go's <c>isTrue</c>: empty strings, lists and maps, zero numbers, false and nil are false.</summary>
    public static bool IsTrue(object? value) => KindOf(value) switch
    {
        Kind.Invalid or Kind.Nil => false,
        Kind.Bool => (bool)value!,
        Kind.Int => ToInt64(value!) != 0,
        Kind.Uint => ToUInt64(value!) != 0,
        Kind.Float => ToDouble(value!) != 0,
        Kind.Complex => (Complex)value! != Complex.Zero,
        Kind.String => ((string)value!).Length > 0,
        Kind.Slice => ((IList)value!).Count > 0,
        Kind.Map => ((IDictionary)value!).Count > 0,
        _ => true,
    };

    /// <summary>
    /// Whether the value prints through its own <c>ToString</c>, as a Go value with a <c>String</c> method does: any
    /// object that is not a list or map, and a list or map whose type overrides <c>ToString</c> (Ollama's tool
    /// arguments, a map that prints as JSON, are such a type).
    /// </summary>
    public static bool IsStringer(object? value) =>
        KindOf(value) is Kind.Struct
        || value is IList or IDictionary && value.GetType().GetMethod(nameof(ToString), Type.EmptyTypes)?.DeclaringType is { } declaring
            && declaring != typeof(object) && declaring.Namespace?.StartsWith("System", StringComparison.Ordinal) != true;

    /// <summary>A field of a struct-like object: a public instance property of that exact name.</summary>
    public static bool TryGetProperty(object target, string name, out object? value)
    {
        var property = target.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        if (property is null || property.GetIndexParameters().Length > 0)
        {
            value = null;
            return false;
        }
        value = property.GetValue(target);
        return true;
    }

    /// <summary>A map's entries in Go's order for printing and ranging: keys sorted (strings by bytes, numbers by value).</summary>
    public static IEnumerable<KeyValuePair<object, object?>> SortedEntries(IDictionary map)
    {
        var entries = new List<KeyValuePair<object, object?>>();
        foreach (DictionaryEntry entry in map)
        {
            entries.Add(new(entry.Key, entry.Value));
        }
        entries.Sort((a, b) => CompareKeys(a.Key, b.Key));
        return entries;
    }

    static int CompareKeys(object a, object b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        _ when KindOf(a) is Kind.Int && KindOf(b) is Kind.Int => ToInt64(a).CompareTo(ToInt64(b)),
        _ when KindOf(a) is Kind.Uint && KindOf(b) is Kind.Uint => ToUInt64(a).CompareTo(ToUInt64(b)),
        _ when KindOf(a) is Kind.Float && KindOf(b) is Kind.Float => ToDouble(a).CompareTo(ToDouble(b)),
        _ => string.CompareOrdinal(a.ToString(), b.ToString()),
    };

    /// <summary>A string's UTF-8 bytes: Go's <c>len</c>, <c>index</c> and <c>slice</c> count bytes.</summary>
    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
