using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// JSON Schema → GBNF as llama.cpp's <c>json_schema_to_grammar(schema, force_gbnf = true)</c> writes it
/// (common/json-schema-to-grammar.cpp, February 2025): what Ollama's <c>"format": {schema}</c> and OpenAI's
/// <c>response_format: {"type": "json_schema", ...}</c> constrain the output to. See <see cref="SchemaConverter"/>
/// for the keywords understood.
/// </summary>
public static class JsonSchemaGrammar
{
    /// <summary>
    /// The grammar (root rule <c>root</c>) for a schema given as JSON text. A schema that is not JSON or
    /// uses what the converter cannot express throws <see cref="JsonSchemaConversionException"/>.
    /// </summary>
    public static string FromSchema(string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonNode? schema;
        try
        {
            schema = JsonNode.Parse(schemaJson);
        }
        catch (JsonException e)
        {
            throw new JsonSchemaConversionException($"the JSON schema is not valid JSON: {e.Message}", e);
        }
        return FromSchema(schema);
    }

    /// <summary>The grammar for a parsed schema (not modified; its local references are resolved on a copy).</summary>
    public static string FromSchema(JsonNode? schema)
    {
        var copy = schema?.DeepClone();
        var converter = new SchemaConverter();
        converter.ResolveRefs(copy, "");
        converter.Visit(copy, "");
        return converter.Format();
    }

    /// <summary>The grammar for a schema held in a <see cref="JsonElement"/> (a request body's field).</summary>
    public static string FromSchema(JsonElement schema) => FromSchema(JsonNode.Parse(schema.GetRawText()));
}
