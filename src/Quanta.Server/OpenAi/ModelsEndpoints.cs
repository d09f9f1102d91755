using Microsoft.Extensions.DependencyInjection;
using Quanta.Server.Http;
using Quanta.Server.Ollama;
using Quanta.Store;

namespace Quanta.Server.OpenAi;

/// <summary>
/// <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> over the store, as Ollama's ListMiddleware and RetrieveMiddleware
/// answer them; errors are OpenAI's error object (<see cref="ApiErrors"/>). The id may hold a namespace
/// (<c>team/llama:v1</c>), so it takes the rest of the path; it is still only ever read as a model name.
/// </summary>
internal static class ModelsEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/models", List);
        routes.MapGet("/v1/models/{**id}", Retrieve);
    }

    static Task List(HttpContext context)
    {
        var models = context.RequestServices.GetRequiredService<ModelSummaries>().List();
        var list = new OpenAiModelList
        {
            Data = [.. models.Select(m => new OpenAiModel { Id = m.Model, Created = m.ModifiedAt.ToUnixTimeSeconds(), OwnedBy = Owner(m.Model) })],
        };
        return ApiJson.WriteAsync(context, list, OpenAiJson.Default.OpenAiModelList);
    }

    static Task Retrieve(HttpContext context)
    {
        // A catch-all keeps an escaped slash escaped; clients escape the one in "team/llama:v1".
        var id = Uri.UnescapeDataString(context.Request.RouteValues["id"] as string ?? "");
        var name = ModelNames.Parse(id);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        if (store.TryGetManifest(name) is null)
        {
            throw ApiException.NotFound($"model '{id}' not found");
        }
        var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(store.ManifestPath(name)), TimeSpan.Zero);
        return ApiJson.WriteAsync(context, new OpenAiModel { Id = id, Created = modified.ToUnixTimeSeconds(), OwnedBy = name.Namespace }, OpenAiJson.Default.OpenAiModel);
    }

    /// <summary>The namespace of the name, as Ollama's <c>model.ParseName(id).Namespace</c>.</summary>
    static string Owner(string id) => ModelName.TryParse(id, out var name) ? name!.Namespace : "";
}
