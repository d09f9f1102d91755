using Quanta.Templates.Go;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The grammar for a structured-output request, as Ollama chooses it (llm/server.go <c>Completion</c>,
/// openai/openai.go): Ollama's <c>format</c> field — absent, <c>null</c> or <c>""</c> for none, <c>"json"</c>
/// for any JSON object (<see cref="JsonGrammar"/>), or a JSON schema object (<see cref="JsonSchemaGrammar"/>) —
/// and OpenAI's <c>response_format</c> (<c>json_object</c> → "json", <c>json_schema</c> → its
/// <c>json_schema.schema</c>). Put the result in <see cref="SamplingParameters.Grammar"/>.
/// </summary>
public static class OutputFormat
{
    /// <summary>
    /// The grammar for the raw JSON text of Ollama's <c>format</c> field, or null for none. Anything else
    /// than "json" or an object, and a schema the converter refuses, throw
    /// <see cref="JsonSchemaConversionException"/> with Ollama's message (a 400 for the server).
    /// </summary>
    public static string? FromOllamaFormat(string? rawFormat)
    {
        if (string.IsNullOrEmpty(rawFormat) || rawFormat is "null" or "\"\"")
        {
            return null;
        }
        if (rawFormat == "\"json\"")
        {
            return JsonGrammar.Gbnf;
        }
        if (rawFormat[0] != '{')
        {
            throw new JsonSchemaConversionException($"invalid format: {GoQuoting.Quote(rawFormat)}; expected \"json\" or a valid JSON Schema object");
        }
        try
        {
            return JsonSchemaGrammar.FromSchema(rawFormat);
        }
        catch (JsonSchemaConversionException e)
        {
            throw new JsonSchemaConversionException("invalid JSON schema in format", e);
        }
    }

    /// <summary>The grammar for Ollama's <c>format</c> as a parsed request field (<c>default</c> when absent).</summary>
    public static string? FromOllamaFormat(JsonElement format) =>
        format.ValueKind == JsonValueKind.Undefined ? null : FromOllamaFormat(format.GetRawText());

    /// <summary>
    /// The grammar for OpenAI's <c>response_format</c> object, or null for none (<c>text</c>, or a
    /// <c>json_schema</c> without a schema), as Ollama's OpenAI layer maps it onto <c>format</c>.
    /// </summary>
    public static string? FromOpenAIResponseFormat(JsonElement responseFormat)
    {
        if (responseFormat.ValueKind != JsonValueKind.Object
            || !responseFormat.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        return type.GetString()!.Trim().ToLowerInvariant() switch
        {
            "json_object" => FromOllamaFormat("\"json\""),
            "json_schema" when responseFormat.TryGetProperty("json_schema", out var jsonSchema)
                && jsonSchema.ValueKind == JsonValueKind.Object
                && jsonSchema.TryGetProperty("schema", out var schema) => FromOllamaFormat(schema),
            _ => null,
        };
    }
}
