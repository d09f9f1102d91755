using System.Globalization;
using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Templates.Go;

namespace Quanta.Store;

/// <summary>Which document a GGUF value is written for: they differ in long arrays, NaN and float spelling.</summary>
public enum GgufJsonStyle
{
    /// <summary>
    /// <c>inspect --json</c>, Quanta's own contract with scripts: arrays up to <see cref="GgufValueJson.InspectMaxArrayItems"/>
    /// items in full, longer ones as <c>{"type","count"}</c>; NaN and infinities as the strings .NET and Python
    /// parse (<c>"NaN"</c>, <c>"Infinity"</c>); other floats in .NET's shortest round-trip form.
    /// </summary>
    Inspect,

    /// <summary>
    /// <c>show --json</c>, Ollama's <c>model_info</c>: arrays over <see cref="GgufValueJson.ShowMaxArrayItems"/> items
    /// as null; floats spelled as Go's <c>encoding/json</c> spells them; NaN and infinities as null (see
    /// <see cref="GgufValueJson.WriteGoFloat"/>).
    /// </summary>
    Show,

    /// <summary><see cref="Show"/> with every array in full: <c>/api/show</c> with <c>verbose</c>.</summary>
    ShowVerbose,
}

/// <summary>
/// GGUF metadata values as JSON, for <c>inspect --json</c>, <c>show --json</c> and <c>/api/show</c>: one walk over the
/// value, two styles. It lives in Store, beside <see cref="StoreJson"/>, because Ollama's style spells floats as Go does
/// (Templates' <see cref="GoJson"/>), which Formats may not reference.
/// </summary>
public static class GgufValueJson
{
    public const int InspectMaxArrayItems = 16;

    public const int ShowMaxArrayItems = 5;

    /// <summary>Writes a metadata value (<see cref="GgufValue.RawValue"/>, or an item of an array) in <paramref name="style"/>.</summary>
    public static void Write(Utf8JsonWriter json, object value, GgufJsonStyle style)
    {
        switch (value)
        {
            case string s: json.WriteStringValue(s); break;
            case bool b: json.WriteBooleanValue(b); break;
            case byte n: json.WriteNumberValue(n); break;
            case sbyte n: json.WriteNumberValue(n); break;
            case ushort n: json.WriteNumberValue(n); break;
            case short n: json.WriteNumberValue(n); break;
            case uint n: json.WriteNumberValue(n); break;
            case int n: json.WriteNumberValue(n); break;
            case ulong n: json.WriteNumberValue(n); break;
            case long n: json.WriteNumberValue(n); break;
            case float f when style != GgufJsonStyle.Inspect: WriteGoFloat(json, f, single: true); break;
            case double d when style != GgufJsonStyle.Inspect: WriteGoFloat(json, d, single: false); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            // JSON has no NaN or infinity; GGUF floats can hold them, so inspect writes the strings
            // .NET and Python parse ("NaN", "Infinity", "-Infinity").
            case float f: json.WriteStringValue(f.ToString(CultureInfo.InvariantCulture)); break;
            case double d: json.WriteStringValue(d.ToString(CultureInfo.InvariantCulture)); break;
            case GgufArray array: WriteArray(json, array, style); break;
            default: throw new InvalidOperationException($"unexpected GGUF value of CLR type {value.GetType()}");
        }
    }

    static void WriteArray(Utf8JsonWriter json, GgufArray array, GgufJsonStyle style)
    {
        if (style == GgufJsonStyle.Show && array.Count > ShowMaxArrayItems)
        {
            json.WriteNullValue();
            return;
        }
        if (style == GgufJsonStyle.Inspect && array.Count > InspectMaxArrayItems)
        {
            json.WriteStartObject();
            json.WriteString("type", GgufValueTypes.Name(array.ElementType));
            json.WriteNumber("count", array.Count);
            json.WriteEndObject();
            return;
        }
        json.WriteStartArray();
        foreach (var item in array.Items)
        {
            Write(json, item!, style);
        }
        json.WriteEndArray();
    }

    /// <summary>
    /// A float as Go's <c>encoding/json</c> writes it (<c>floatEncoder</c>), which is what Ollama's <c>/api/show</c>
    /// sends: the shortest digits that read back as the same f32 or f64, in plain decimals (<c>0.00001</c>,
    /// <c>1000000</c>), with an exponent only below 1e-6 or from 1e21 up (<c>1e-7</c>, <c>1e+21</c>).
    /// NaN and ±Inf are written as null: Go's encoder refuses them (<c>json: unsupported value: NaN</c>), so
    /// Ollama cannot answer <c>/api/show</c> at all for such a model, and null is the one JSON value that says
    /// "no number" to every reader.
    /// </summary>
    public static void WriteGoFloat(Utf8JsonWriter json, double value, bool single)
    {
        if (GoJson.Float(value, single) is { } text)
        {
            json.WriteRawValue(text, skipInputValidation: true);
        }
        else
        {
            json.WriteNullValue();
        }
    }
}
