using System.Globalization;

namespace Quanta.Formats.Gguf;

/// <summary>
/// A typed GGUF array. Items live in one CLR array of the element type (<c>float[]</c> for f32,
/// <c>string[]</c> for strings, <c>GgufArray[]</c> for nested arrays), so a 150,000-token vocabulary is one
/// allocation, not 150,000 boxes.
/// </summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    GgufArray(GgufValueType elementType, System.Array items)
    {
        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }

    /// <summary>The items, as an array of the element's CLR type.</summary>
    public System.Array Items { get; }

    public int Count => Items.Length;

    public static GgufArray Of(byte[] items) => new(GgufValueType.UInt8, items);
    public static GgufArray Of(sbyte[] items) => new(GgufValueType.Int8, items);
    public static GgufArray Of(ushort[] items) => new(GgufValueType.UInt16, items);
    public static GgufArray Of(short[] items) => new(GgufValueType.Int16, items);
    public static GgufArray Of(uint[] items) => new(GgufValueType.UInt32, items);
    public static GgufArray Of(int[] items) => new(GgufValueType.Int32, items);
    public static GgufArray Of(float[] items) => new(GgufValueType.Float32, items);
    public static GgufArray Of(bool[] items) => new(GgufValueType.Bool, items);
    public static GgufArray Of(string[] items) => new(GgufValueType.String, items);
    public static GgufArray Of(ulong[] items) => new(GgufValueType.UInt64, items);
    public static GgufArray Of(long[] items) => new(GgufValueType.Int64, items);
    public static GgufArray Of(double[] items) => new(GgufValueType.Float64, items);
    public static GgufArray Of(GgufArray[] items) => new(GgufValueType.Array, items);

    /// <summary>The items as <typeparamref name="T"/>[]; throws when the element type differs.</summary>
    public T[] As<T>() => Items as T[]
        ?? throw new InvalidCastException($"array of {GgufValueTypes.Name(ElementType)} is not an array of {typeof(T).Name}");

    public bool Equals(GgufArray? other)
    {
        if (other is null || ElementType != other.ElementType || Count != other.Count)
        {
            return false;
        }
        return Items switch
        {
            string[] s => s.AsSpan().SequenceEqual(other.As<string>()),
            GgufArray[] a => a.AsSpan().SequenceEqual(other.As<GgufArray>()),
            float[] f => f.AsSpan().SequenceEqual(other.As<float>(), BitwiseFloatComparer.Instance),
            double[] d => d.AsSpan().SequenceEqual(other.As<double>(), BitwiseFloatComparer.Instance),
            _ => StructuralEquals(Items, other.Items),
        };
    }

    static bool StructuralEquals(System.Array a, System.Array b) =>
        System.Collections.StructuralComparisons.StructuralEqualityComparer.Equals(a, b);

    public override bool Equals(object? obj) => obj is GgufArray a && Equals(a);

    public override int GetHashCode() => HashCode.Combine(ElementType, Count);

    /// <summary>Up to 8 items shown; longer arrays as <c>[32000 strings]</c>.</summary>
    public override string ToString()
    {
        const int Shown = 8;
        if (Count > Shown)
        {
            return $"[{Count} {ElementNoun()}]";
        }
        var items = new List<string>(Count);
        foreach (var item in Items)
        {
            items.Add(item switch
            {
                string s => $"\"{s}\"",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                _ => item?.ToString() ?? "",
            });
        }
        return $"[{string.Join(", ", items)}]";
    }

    string ElementNoun() => ElementType switch
    {
        GgufValueType.String => "strings",
        GgufValueType.Array => "arrays",
        GgufValueType.Bool => "bools",
        _ => $"{GgufValueTypes.Name(ElementType)} values",
    };

    sealed class BitwiseFloatComparer : IEqualityComparer<float>, IEqualityComparer<double>
    {
        public static readonly BitwiseFloatComparer Instance = new();
        public bool Equals(float x, float y) => BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y);
        public int GetHashCode(float obj) => obj.GetHashCode();
        public bool Equals(double x, double y) => BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y);
        public int GetHashCode(double obj) => obj.GetHashCode();
    }
}
