using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Quanta.Server.Http;

/// <summary>One structured line per request, as Ollama's access log has: status, method, path, time taken, client.</summary>
public sealed partial class RequestLogMiddleware(RequestDelegate next, ILogger<RequestLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var start = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            LogRequest(logger, context.Response.StatusCode, context.Request.Method, context.Request.Path.Value ?? "",
                Stopwatch.GetElapsedTime(start).TotalMilliseconds, context.Connection.RemoteIpAddress?.ToString() ?? "");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Status} {Method} {Path} {DurationMs:0.###}ms {Client}")]
    static partial void LogRequest(ILogger logger, int status, string method, string path, double durationMs, string client);
}
