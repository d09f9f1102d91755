using System.Diagnostics;
using Quanta.Server.Http;

namespace Quanta.Server.Ollama;

/// <summary>
/// The legacy <c>POST /api/embeddings</c>, as Ollama's EmbeddingsHandler: one <c>prompt</c>, the runner's vector as it
/// is (pooled, not normalised) in float64; an empty prompt loads the model and answers an empty vector. The prompt is
/// not cut to the context: a longer one fails, as it does in Ollama (a 500 there, the runner's error passed on).
/// </summary>
internal static class EmbeddingsEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/api/embeddings", Embeddings);

    static async Task Embeddings(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.EmbeddingRequest).ConfigureAwait(false);
        var name = ModelNames.Parse(request.Model);
        EmbedEndpoint.Input[] inputs = string.IsNullOrEmpty(request.Prompt) ? [] : [EmbedEndpoint.Input.FromText(request.Prompt)];
        EmbedEndpoint.Result result;
        try
        {
            result = await EmbedEndpoint.RunAsync(context, name, request.Model!, inputs, truncate: false, dimensions: 0, request.Options, raw: true, keepAlive: request.KeepAlive).ConfigureAwait(false);
        }
        catch (ApiException e) when (e.StatusCode == StatusCodes.Status400BadRequest)
        {
            throw new ApiException(StatusCodes.Status500InternalServerError, e.Message, e);
        }
        var vector = result.Vectors.Count == 0 ? [] : Array.ConvertAll(result.Vectors[0], v => (double)v);
        await ApiJson.WriteAsync(context, new EmbeddingResponse { Embedding = vector }, OllamaJson.Default.EmbeddingResponse).ConfigureAwait(false);
    }
}
