using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// Ollama's routes over the store (server/routes.go): <c>/</c>, <c>/api/version</c>, <c>/api/tags</c>, <c>/api/show</c>,
/// <c>/api/ps</c>, <c>/api/copy</c>, <c>/api/delete</c>, and <c>/api/pull</c> / <c>/api/push</c>, which answer that
/// Quanta reaches no registry. Status codes and messages are Ollama's.
/// </summary>
internal static partial class StoreEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/", ["GET", "HEAD"], Running);
        routes.MapMethods("/api/version", ["GET", "HEAD"], Version);
        routes.MapMethods("/api/tags", ["GET", "HEAD"], Tags);
        routes.MapPost("/api/show", Show);
        routes.MapGet("/api/ps", Ps);
        routes.MapPost("/api/copy", Copy);
        routes.MapDelete("/api/delete", Delete);
        routes.MapPost("/api/pull", context => Registry(context, "pull"));
        routes.MapPost("/api/push", context => Registry(context, "push"));
    }

    static Task Running(HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("Quanta is running", context.RequestAborted);
    }

    static Task Version(HttpContext context) =>
        ApiJson.WriteAsync(context, new VersionResponse { Version = ServerOptions.OllamaApiVersion }, OllamaJson.Default.VersionResponse);

    static Task Tags(HttpContext context)
    {
        var models = context.RequestServices.GetRequiredService<ModelSummaries>().List();
        return ApiJson.WriteAsync(context, new ListResponse { Models = models }, OllamaJson.Default.ListResponse);
    }

    static async Task Show(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.ShowRequest).ConfigureAwait(false);
        var requested = string.IsNullOrEmpty(request.Model) ? request.Name : request.Model;
        var name = ModelNames.Parse(requested);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        StoredModel model;
        try
        {
            model = StoredModel.Load(store, name);
        }
        catch (ModelNotFoundException e)
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{name.DisplayShortest}' not found", e);
        }
        var json = ShowResponseWriter.Write(store, model, new ShowResponseWriter.ShowOptions { Verbose = request.Verbose, System = request.System });
        await ApiJson.WriteAsync(context, json).ConfigureAwait(false);
    }

    /// <summary>
    /// The loaded models, as Ollama's PsHandler lists them: name, details and digest of the stored model that loaded
    /// each, the size it takes (the mapped model file), when it will be unloaded, the context of its latest request.
    /// </summary>
    static Task Ps(HttpContext context)
    {
        var running = context.RequestServices.GetRequiredService<Scheduling.ModelScheduler>().Running();
        var summaries = running.Count == 0 ? [] : context.RequestServices.GetRequiredService<ModelSummaries>().List();
        var models = running.Select(r =>
        {
            var summary = summaries.FirstOrDefault(m => m.Name == r.Name);
            return new ProcessModelResponse
            {
                Name = r.Name,
                Model = r.Name,
                Size = File.Exists(r.ModelPath) ? new FileInfo(r.ModelPath).Length : 0,
                Digest = summary?.Digest ?? r.Digest[(r.Digest.IndexOf(':', StringComparison.Ordinal) + 1)..],
                Details = summary?.Details ?? new ModelDetails(),
                ExpiresAt = r.ExpiresAt,
                ContextLength = r.ContextLength,
            };
        }).ToList();
        return ApiJson.WriteAsync(context, new ProcessResponse { Models = models }, OllamaJson.Default.ProcessResponse);
    }

    static async Task Copy(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.CopyRequest).ConfigureAwait(false);
        var source = ParseNamed(request.Source, "source");
        var destination = ParseNamed(request.Destination, "destination");
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        // Every layer is hashed before the copy (large ones once per change): a thread-pool thread does the reading,
        // after the writer's lock has been taken without holding one.
        using (await store.EnterWriterAsync(context.RequestAborted).ConfigureAwait(false))
        {
            try
            {
                await Task.Run(() => store.Copy(source, destination, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
            }
            catch (ModelNotFoundException e)
            {
                throw new ApiException(StatusCodes.Status404NotFound, $"model \"{request.Source}\" not found", e);
            }
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Ollama's copy checks: a missing or invalid name is <c>source "x" is invalid</c>.</summary>
    static ModelName ParseNamed(string? text, string field)
    {
        if (text is null || !ModelName.TryParse(text, out var name))
        {
            throw ApiException.BadRequest($"{field} \"{text}\" is invalid");
        }
        return name!;
    }

    static async Task Delete(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.DeleteRequest).ConfigureAwait(false);
        var requested = string.IsNullOrEmpty(request.Model) ? request.Name : request.Model;
        if (string.IsNullOrEmpty(requested) || !ModelName.TryParse(requested, out var name))
        {
            throw ApiException.BadRequest($"name \"{requested}\" is invalid");
        }
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoreEndpoints));
        IReadOnlyList<string>? deleted;
        try
        {
            deleted = await store.RemoveAsync(name!, warning => LogWarning(logger, warning), context.RequestAborted).ConfigureAwait(false);
        }
        catch (ModelNotFoundException e)
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{requested}' not found", e);
        }
        if (deleted is null)
        {
            LogWarning(logger, $"deleted '{name!.DisplayShortest}'; another quanta is writing to the store, so its unused layers are left for 'quanta prune'");
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Pull and push need a registry, which Quanta does not reach: a clear error (500, as Ollama answers a pull that fails before it streams), with Ollama's 400 for a missing name.</summary>
    static async Task Registry(HttpContext context, string verb)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.RegistryRequest).ConfigureAwait(false);
        var requested = string.IsNullOrEmpty(request.Model) ? request.Name : request.Model;
        ModelNames.Parse(requested);
        throw new ApiException(StatusCodes.Status500InternalServerError,
            $"{verb} is not supported: Quanta does not connect to a model registry; create models from GGUF files or checkpoints with /api/create or 'quanta create'");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    static partial void LogWarning(ILogger logger, string warning);
}
