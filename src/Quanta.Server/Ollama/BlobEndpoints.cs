using Microsoft.Extensions.DependencyInjection;
using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>HEAD /api/blobs/:digest</c> (200 if the store has it, 404 if not) and <c>POST /api/blobs/:digest</c> (201 once the
/// body is stored; 200 at once, without reading the body, if the blob is already there; 400 if the bytes hash to
/// another digest, and then nothing is kept). Only a well-formed digest names a blob: anything else is 400
/// <c>invalid digest format</c>, so no path can be spelled through it.
/// </summary>
internal static class BlobEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/api/blobs/{digest}", ["HEAD"], Head);
        routes.MapPost("/api/blobs/{digest}", UploadAsync).WithMetadata(new UnlimitedBodyAttribute());
    }

    static string Digest(HttpContext context)
    {
        var digest = context.Request.RouteValues["digest"] as string;
        return Digests.IsValid(digest) ? digest! : throw ApiException.BadRequest("invalid digest format");
    }

    static Task Head(HttpContext context)
    {
        var digest = Digest(context);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        if (!File.Exists(store.BlobPath(digest)))
        {
            throw ApiException.NotFound($"blob \"{digest}\" not found");
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }

    static async Task UploadAsync(HttpContext context)
    {
        var digest = Digest(context);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        if (File.Exists(store.BlobPath(digest)))
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return;
        }
        try
        {
            await store.ImportStreamAsync(context.Request.Body, digest, context.RequestAborted).ConfigureAwait(false);
        }
        catch (DigestMismatchException e)
        {
            throw ApiException.BadRequest(e.Message, e);
        }
        context.Response.StatusCode = StatusCodes.Status201Created;
    }
}
