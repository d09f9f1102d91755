using System.Text.Json;

namespace Quanta.Server.Http;

/// <summary>
/// How an error reads on the wire. Ollama's routes answer <c>{"error": "..."}</c> (its <c>gin.H{"error": ...}</c>);
/// the OpenAI-compatible routes under <c>/v1/</c> answer OpenAI's object, <c>{"error": {"message", "type", "param",
/// "code"}}</c>, with Ollama's types (<c>invalid_request_error</c> for 400, <c>not_found_error</c> for 404,
/// <c>api_error</c> otherwise; openai.NewError).
/// </summary>
public static class ApiErrors
{
    /// <summary>Ollama's status for a request the client cancelled (nginx's "client closed request").</summary>
    public const int ClientClosedRequest = 499;

    public static bool IsOpenAiPath(PathString path) => path.StartsWithSegments("/v1", StringComparison.Ordinal);

    /// <summary>Writes the error as the route's API spells it, unless the response has started (then nothing can be said).</summary>
    public static async Task WriteAsync(HttpContext context, int statusCode, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.Clear();
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = ApiJson.ContentType;
        var body = IsOpenAiPath(context.Request.Path) ? OpenAiBody(statusCode, message) : OllamaBody(message);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>{"error":"..."}</c>, also the last line of a stream that failed after it began.</summary>
    public static byte[] OllamaBody(string message) => ApiJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    public static byte[] OpenAiBody(int statusCode, string message) => ApiJson.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", statusCode switch
        {
            StatusCodes.Status400BadRequest => "invalid_request_error",
            StatusCodes.Status404NotFound => "not_found_error",
            _ => "api_error",
        });
        w.WriteNull("param");
        w.WriteNull("code");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>The message of a <see cref="JsonException"/> without .NET's position suffix, which names .NET types.</summary>
    internal static string Describe(JsonException e)
    {
        var message = e.Message;
        var path = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = path > 0 ? message[..path] : message;
        return e.LineNumber is { } line && e.BytePositionInLine is { } position
            ? $"{text.TrimEnd('.')} (line {line + 1}, byte {position + 1}{(string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $", at {e.Path}")})"
            : text;
    }
}
