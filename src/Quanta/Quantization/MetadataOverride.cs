using System.Globalization;
using System.Text;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// A <c>--override-kv KEY=TYPE:VALUE</c> switch: a metadata key written into the output with a new value.
/// The value types are llama.cpp's (<c>string_parse_kv_override</c> in <c>common/common.cpp</c>); how each is
/// stored follows <c>llama_model_quantize_impl</c> in the 2026 source: <c>float:</c> as f32, <c>bool:</c> as
/// bool, <c>str:</c> as a string and <c>int:</c> as u32 of the absolute value (PR #14182; the February 2025
/// source wrote i32), so that the loader's u32 keys such as <c>{arch}.block_count</c> can be overridden.
/// </summary>
public sealed class MetadataOverride
{
    /// <summary>llama.cpp keeps the key in a 128-byte buffer with its terminating NUL.</summary>
    public const int MaxKeyBytes = 127;

    /// <summary>llama.cpp keeps a string value in a 128-byte buffer with its terminating NUL.</summary>
    public const int MaxStringBytes = 127;

    MetadataOverride(string key, GgufValue value, string text)
    {
        Key = key;
        Value = value;
        _text = text;
    }

    readonly string _text;

    public string Key { get; }

    /// <summary>The value as it is written to the output, with the GGUF type llama-quantize gives it.</summary>
    public GgufValue Value { get; }

    /// <summary>
    /// Parses <c>KEY=int:N</c>, <c>KEY=float:X</c>, <c>KEY=bool:true|false</c> or <c>KEY=str:TEXT</c>.
    /// llama.cpp reads numbers with <c>atol</c>/<c>atof</c>, which turn garbage into 0; here a value that is
    /// not a number is an error, since a silent 0 in a model's metadata is never what was meant.
    /// </summary>
    /// <exception cref="FormatException">The text is not a valid override; the message says why.</exception>
    public static MetadataOverride Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var separator = text.IndexOf('=', StringComparison.Ordinal);
        if (separator <= 0)
        {
            throw new FormatException($"malformed KV override '{text}': expected KEY=TYPE:VALUE, e.g. general.name=str:My model");
        }
        var key = text[..separator];
        if (Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            throw new FormatException($"malformed KV override '{text}': the key is longer than {MaxKeyBytes} bytes");
        }
        var rest = text[(separator + 1)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var tag = colon < 0 ? rest : rest[..colon];
        var value = colon < 0 ? "" : rest[(colon + 1)..];
        var parsed = tag switch
        {
            "int" when colon >= 0 => ParseInt(text, value),
            "float" when colon >= 0 => ParseFloat(text, value),
            "bool" when colon >= 0 => ParseBool(text, value),
            "str" when colon >= 0 => ParseString(text, value),
            _ => throw new FormatException($"invalid type for KV override '{text}': expected int:, float:, bool: or str: after '='"),
        };
        return new MetadataOverride(key, parsed, text);
    }

    static GgufValue ParseInt(string text, string value)
    {
        if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            throw new FormatException($"invalid integer in KV override '{text}'");
        }
        // (uint32_t)std::abs(val_i64): wraps modulo 2^32 like the C cast.
        return GgufValue.UInt32(unchecked((uint)(n == long.MinValue ? n : Math.Abs(n))));
    }

    static GgufValue ParseFloat(string text, string value)
    {
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x))
        {
            throw new FormatException($"invalid number in KV override '{text}'");
        }
        // gguf_set_val_f32(..., o->val_f64): the double narrowed to float.
        return GgufValue.Float32((float)x);
    }

    static GgufValue ParseBool(string text, string value) => value switch
    {
        "true" => GgufValue.Bool(true),
        "false" => GgufValue.Bool(false),
        _ => throw new FormatException($"invalid boolean value for KV override '{text}': expected true or false"),
    };

    static GgufValue ParseString(string text, string value)
    {
        if (Encoding.UTF8.GetByteCount(value) > MaxStringBytes)
        {
            throw new FormatException($"value too long for KV override '{text}': at most {MaxStringBytes} bytes");
        }
        return GgufValue.String(value);
    }

    /// <summary>
    /// An override made by a tool rather than typed (a recipe's keys): no command-line length limits, shown as
    /// <c>KEY=str:VALUE</c> and the like.
    /// </summary>
    public static MetadataOverride Of(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        return new MetadataOverride(key, value, $"{key}={value}");
    }

    public override string ToString() => _text;
}
