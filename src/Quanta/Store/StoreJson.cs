using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Quanta.Store;

/// <summary>
/// JSON as Go's encoding/json writes it for Ollama's store: compact, fields in declaration order, non-ASCII
/// text kept as UTF-8, and &lt; &gt; &amp; escaped as <c>\u003c</c> <c>\u003e</c> <c>\u0026</c>, so a layer
/// Quanta writes has the digest Ollama's own would have.
/// </summary>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Compact = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonWriterOptions Writer = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Go's HTML-safe escaping of compact JSON. Outside strings these three characters never occur in JSON,
    /// so replacing them everywhere is exact.
    /// </summary>
    public static byte[] GoEscape(byte[] json)
    {
        if (json.AsSpan().IndexOfAny("<>&"u8) < 0)
        {
            return json;
        }
        var text = Encoding.UTF8.GetString(json)
            .Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace(">", "\\u003e", StringComparison.Ordinal)
            .Replace("&", "\\u0026", StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text);
    }

    public static byte[] Serialize<T>(T value) => GoEscape(JsonSerializer.SerializeToUtf8Bytes(value, Compact));

    /// <summary>Writes with a <see cref="Utf8JsonWriter"/> (field order exactly as written) and applies Go's escaping.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Writer))
        {
            write(writer);
        }
        return GoEscape(buffer.ToArray());
    }
}
