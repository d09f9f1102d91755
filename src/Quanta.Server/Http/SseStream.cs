using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Quanta.Server.Http;

/// <summary>
/// A streamed OpenAI answer: server-sent events, one <c>data: {json}</c> event per chunk, ending with
/// <c>data: [DONE]</c>. Once an event is out the status is sent, so a later failure is an event holding OpenAI's error
/// object (as OpenAI's SDKs read one); before that, the error is a plain error answer with its status.
/// </summary>
public sealed class SseStream(HttpContext context)
{
    static readonly byte[] Data = "data: "u8.ToArray();
    static readonly byte[] End = "\n\n"u8.ToArray();
    static readonly byte[] DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    public bool Started => context.Response.HasStarted;

    public Task WriteAsync<T>(T value, JsonTypeInfo<T> type) => WriteEventAsync(JsonSerializer.SerializeToUtf8Bytes(value, type));

    public async Task WriteDoneAsync()
    {
        Begin();
        await context.Response.Body.WriteAsync(DoneEvent, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The error as a last event if the stream has begun, otherwise as the whole answer with <paramref name="statusCode"/>.</summary>
    public Task WriteErrorAsync(int statusCode, string message) =>
        Started ? WriteEventAsync(ApiErrors.OpenAiBody(statusCode, message)) : ApiErrors.WriteAsync(context, statusCode, message);

    void Begin()
    {
        if (!context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
        }
    }

    async Task WriteEventAsync(byte[] json)
    {
        Begin();
        var body = context.Response.Body;
        await body.WriteAsync(Data, context.RequestAborted).ConfigureAwait(false);
        await body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
        await body.WriteAsync(End, context.RequestAborted).ConfigureAwait(false);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
