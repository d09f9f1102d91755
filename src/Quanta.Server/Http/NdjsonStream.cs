using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Quanta.Server.Http;

/// <summary>
/// A streamed answer, one JSON object per line (<c>application/x-ndjson</c>), as Ollama streams progress and
/// generations. Once a line is out the status is sent, so a later failure can only be said as a last
/// <c>{"error": "..."}</c> line (<see cref="WriteErrorAsync"/>); before that, the error is a plain error answer with its status.
/// </summary>
public sealed class NdjsonStream(HttpContext context)
{
    static readonly byte[] NewLine = "\n"u8.ToArray();

    public bool Started => context.Response.HasStarted;

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> type)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = ApiJson.NdjsonContentType;
        }
        await WriteLineAsync(JsonSerializer.SerializeToUtf8Bytes(value, type)).ConfigureAwait(false);
    }

    /// <summary>The error as a last line if the stream has begun, otherwise as the whole answer with <paramref name="statusCode"/>.</summary>
    public Task WriteErrorAsync(int statusCode, string message) =>
        context.Response.HasStarted ? WriteLineAsync(ApiErrors.OllamaBody(message)) : ApiErrors.WriteAsync(context, statusCode, message);

    async Task WriteLineAsync(byte[] json)
    {
        var body = context.Response.Body;
        await body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
        await body.WriteAsync(NewLine, context.RequestAborted).ConfigureAwait(false);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
