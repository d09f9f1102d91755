using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Server.Http;
using Quanta.Server.Ollama;

namespace Quanta.Server.OpenAi;

/// <summary>
/// <c>POST /v1/embeddings</c>, as Ollama's EmbeddingsMiddleware in front of <c>/api/embed</c>: <c>input</c> a string (an
/// empty one is embedded as such) or a non-empty list of strings, <c>dimensions</c>, <c>encoding_format</c> <c>float</c>
/// (default) or <c>base64</c> (the float32 values' little-endian bytes); <c>usage</c> counts the prompt tokens. Errors
/// are OpenAI's error object.
/// </summary>
internal static class EmbeddingsEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/v1/embeddings", Embeddings);

    static async Task Embeddings(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OpenAiJson.Default.EmbeddingsRequest).ConfigureAwait(false);
        var base64 = false;
        if (!string.IsNullOrEmpty(request.EncodingFormat))
        {
            base64 = string.Equals(request.EncodingFormat, "base64", StringComparison.OrdinalIgnoreCase);
            if (!base64 && !string.Equals(request.EncodingFormat, "float", StringComparison.OrdinalIgnoreCase))
            {
                throw ApiException.BadRequest($"Invalid value for 'encoding_format' = {request.EncodingFormat}. Supported values: ['float', 'base64'].");
            }
        }
        var inputs = Inputs(request.Input);
        var name = ModelNames.Parse(request.Model);
        var result = await EmbedEndpoint.RunAsync(context, name, request.Model!, inputs, truncate: true, request.Dimensions ?? 0, options: null).ConfigureAwait(false);
        var list = new EmbeddingList
        {
            Model = request.Model!,
            Data = [.. result.Vectors.Select((v, i) => new EmbeddingItem { Index = i, Embedding = Encode(v, base64) })],
            Usage = new EmbeddingUsage { PromptTokens = result.Tokens, TotalTokens = result.Tokens },
        };
        await ApiJson.WriteAsync(context, list, OpenAiJson.Default.EmbeddingList).ConfigureAwait(false);
    }

    /// <summary>Ollama's middleware: <c>""</c> is <c>[""]</c>; no input or an empty list is "invalid input".</summary>
    static List<string> Inputs(JsonElement? input)
    {
        switch (input?.ValueKind)
        {
            case JsonValueKind.String:
                return [input.Value.GetString()!];
            case JsonValueKind.Array when input.Value.GetArrayLength() > 0:
                var inputs = new List<string>();
                foreach (var item in input.Value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw ApiException.BadRequest("invalid input type");
                    }
                    inputs.Add(item.GetString()!);
                }
                return inputs;
            default:
                throw ApiException.BadRequest("invalid input");
        }
    }

    static JsonElement Encode(float[] vector, bool base64)
    {
        var json = ApiJson.Write(w =>
        {
            if (base64)
            {
                w.WriteBase64StringValue(MemoryMarshal.AsBytes(vector.AsSpan()));
                return;
            }
            w.WriteStartArray();
            foreach (var v in vector)
            {
                w.WriteNumberValue(v);
            }
            w.WriteEndArray();
        });
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
