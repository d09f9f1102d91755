using System.Text.Json;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// Lenient accessors for Hugging Face JSON files, which are written by many tools: a field of an unexpected
/// kind reads as absent, the way Python's <c>dict.get</c> plus an <c>isinstance</c> check treats it.
/// </summary>
internal static class JsonFields
{
    static readonly JsonDocumentOptions Options = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 256,
    };

    public static JsonDocument Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, Options);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, -1, $"invalid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerFormatException(path, -1, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Loads <paramref name="path"/> when it exists and holds a JSON object; null otherwise.</summary>
    public static JsonDocument? LoadObjectIfExists(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        var document = Load(path);
        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            return document;
        }
        document.Dispose();
        throw new TokenizerFormatException(path, -1, "is not a JSON object");
    }

    public static string? OptionalString(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    public static bool? OptionalBool(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => null,
            }
            : null;

    /// <summary>An integer field: a JSON number without fraction, as gguf-py's <c>isinstance(x, int)</c> accepts.</summary>
    public static long? OptionalInteger(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
            ? n
            : null;
}
