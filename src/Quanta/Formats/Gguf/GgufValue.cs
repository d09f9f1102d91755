using System.Globalization;

namespace Quanta.Formats.Gguf;

/// <summary>
/// One metadata value: a scalar, a string or an array, tagged with its GGUF type. The type matters as much
/// as the number: llama.cpp's loader refuses <c>llama.block_count</c> stored as i32 instead of u32.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    readonly object _value;

    GgufValue(GgufValueType type, object value)
    {
        Type = type;
        _value = value;
    }

    public GgufValueType Type { get; }

    public static GgufValue UInt8(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Int8(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue UInt16(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Int16(short v) => new(GgufValueType.Int16, v);
    public static GgufValue UInt32(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Int32(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Float32(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue String(string v) => new(GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue UInt64(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Int64(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Float64(double v) => new(GgufValueType.Float64, v);
    public static GgufValue Array(GgufArray v) => new(GgufValueType.Array, v ?? throw new ArgumentNullException(nameof(v)));

    /// <summary>The value as its CLR type: byte, sbyte, ..., string, or <see cref="GgufArray"/>.</summary>
    public object RawValue => _value;

    public byte AsUInt8() => As<byte>(GgufValueType.UInt8);
    public sbyte AsInt8() => As<sbyte>(GgufValueType.Int8);
    public ushort AsUInt16() => As<ushort>(GgufValueType.UInt16);
    public short AsInt16() => As<short>(GgufValueType.Int16);
    public uint AsUInt32() => As<uint>(GgufValueType.UInt32);
    public int AsInt32() => As<int>(GgufValueType.Int32);
    public float AsFloat32() => As<float>(GgufValueType.Float32);
    public bool AsBool() => As<bool>(GgufValueType.Bool);
    public string AsString() => As<string>(GgufValueType.String);
    public ulong AsUInt64() => As<ulong>(GgufValueType.UInt64);
    public long AsInt64() => As<long>(GgufValueType.Int64);
    public double AsFloat64() => As<double>(GgufValueType.Float64);
    public GgufArray AsArray() => As<GgufArray>(GgufValueType.Array);

    /// <summary>Any integer type widened to long, for callers that accept whichever width a writer chose.</summary>
    public bool TryGetInteger(out long value)
    {
        switch (_value)
        {
            case byte v: value = v; return true;
            case sbyte v: value = v; return true;
            case ushort v: value = v; return true;
            case short v: value = v; return true;
            case uint v: value = v; return true;
            case int v: value = v; return true;
            case long v: value = v; return true;
            case ulong v when v <= long.MaxValue: value = (long)v; return true;
            default: value = 0; return false;
        }
    }

    T As<T>(GgufValueType expected) => Type == expected
        ? (T)_value
        : throw new InvalidCastException($"value has type {GgufValueTypes.Name(Type)} but {GgufValueTypes.Name(expected)} was expected");

    public bool Equals(GgufValue? other) =>
        other is not null && Type == other.Type && (Type == GgufValueType.Array
            ? AsArray().Equals(other.AsArray())
            : BitwiseEquals(_value, other._value));

    // Floats compare by bits so that a NaN written and read back is "equal" and -0 differs from +0.
    static bool BitwiseEquals(object a, object b) => (a, b) switch
    {
        (float x, float y) => BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(y),
        (double x, double y) => BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y),
        _ => a.Equals(b),
    };

    public override bool Equals(object? obj) => obj is GgufValue v && Equals(v);

    public override int GetHashCode() => HashCode.Combine(Type, _value);

    /// <summary>Short human form; long arrays are summarised (<c>[32000 strings]</c>).</summary>
    public override string ToString() => _value switch
    {
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        GgufArray a => a.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => _value.ToString() ?? "",
    };
}
