using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Server.Http;
using Quanta.Server.Ollama;

namespace Quanta.Server.OpenAi;

/// <summary>
/// <c>POST /v1/embeddings</c>, as Ollama's EmbeddingsMiddleware in front of <c>/api/embed</c>: <c>input</c> a string (an
/// empty one is embedded as such) or a non-empty list of strings, or, as OpenAI's API also takes it, token ids: an array
/// of integers (one input) or an array of such arrays (evaluated as given, no BOS added), <c>dimensions</c>, <c>encoding_format</c> <c>float</c>
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

    /// <summary>
    /// Ollama's middleware: <c>""</c> is <c>[""]</c>; no input or an empty list is "invalid input". OpenAI's token
    /// inputs besides: a list of integers is one input, a list of lists of integers one input each (not empty).
    /// </summary>
    static List<EmbedEndpoint.Input> Inputs(JsonElement? input)
    {
        switch (input?.ValueKind)
        {
            case JsonValueKind.String:
                return [EmbedEndpoint.Input.FromText(input.Value.GetString()!)];
            case JsonValueKind.Array when input.Value.GetArrayLength() > 0:
                if (input.Value[0].ValueKind == JsonValueKind.Number)
                {
                    return [new EmbedEndpoint.Input(null, TokenIds(input.Value))];
                }
                var inputs = new List<EmbedEndpoint.Input>();
                foreach (var item in input.Value.EnumerateArray())
                {
                    inputs.Add(item.ValueKind switch
                    {
                        JsonValueKind.String => EmbedEndpoint.Input.FromText(item.GetString()!),
                        JsonValueKind.Array when item.GetArrayLength() > 0 => new EmbedEndpoint.Input(null, TokenIds(item)),
                        _ => throw ApiException.BadRequest("invalid input type"),
                    });
                }
                return inputs;
            default:
                throw ApiException.BadRequest("invalid input");
        }
    }

    /// <summary>An array of token ids (integers that fit an int).</summary>
    static int[] TokenIds(JsonElement array)
    {
        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i++]))
            {
                throw ApiException.BadRequest("invalid input type");
            }
        }
        return ids;
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
