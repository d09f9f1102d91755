using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace Quanta.Server.Http;

/// <summary>
/// Request bodies in and JSON out, with Ollama's errors rather than ASP.NET's: an empty body is
/// <c>missing request body</c> (400), malformed JSON or a value of the wrong type is a 400 saying what is wrong, and a
/// body over the limit is a 413 (refused from its Content-Length before it is read, or as soon as a chunked body
/// passes the limit). Names match case-insensitively and unknown fields are ignored, as Go's <c>encoding/json</c> reads.
/// </summary>
public static class ApiJson
{
    public const string ContentType = "application/json; charset=utf-8";

    public const string NdjsonContentType = "application/x-ndjson";

    static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads and parses the body as <typeparamref name="T"/>.</summary>
    /// <exception cref="ApiException">400 for an empty or malformed body, 413 for one over the limit.</exception>
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : new()
    {
        ArgumentNullException.ThrowIfNull(context);
        byte[] body;
        try
        {
            body = await ReadBodyAsync(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(context, e);
        }
        if (body.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            throw ApiException.BadRequest("missing request body");
        }
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? new T();
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest(ApiErrors.Describe(e), e);
        }
    }

    static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (context.Request.ContentLength is { } length && limit is { } max && length > max)
        {
            throw TooLarge(context, null);
        }
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    static ApiException TooLarge(HttpContext context, Exception? inner)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        return new ApiException(StatusCodes.Status413PayloadTooLarge, $"request body too large: the limit is {limit} bytes", inner);
    }

    /// <summary>Answers <paramref name="value"/> with status 200 (or <paramref name="statusCode"/>).</summary>
    public static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type, int statusCode = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = ContentType;
        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, type), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Answers a document written by hand (where a value's spelling matters, as in <c>/api/show</c>).</summary>
    public static async Task WriteAsync(HttpContext context, byte[] json)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(json);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ContentType;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A JSON document from a writer callback (compact, without escaping what need not be escaped).</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
