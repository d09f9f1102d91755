using System.Text.Json;
using Microsoft.Extensions.Logging;
using Quanta.Store;

namespace Quanta.Server.Http;

/// <summary>
/// The one place where exceptions become answers, so that every error has the API's shape (never ASP.NET's problem
/// details or an empty 500): <see cref="ApiException"/> as it says; a body Kestrel refused (too large, malformed) with
/// its status; a model that does not exist as 404; a client that went away as one log line and status 499, with no
/// stack trace; anything else as 500 with its message, logged with its stack trace.
/// </summary>
public sealed partial class ApiErrorMiddleware(RequestDelegate next, ILogger<ApiErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (IsDisconnect(context, e))
        {
            LogDisconnected(logger, context.Request.Method, context.Request.Path.Value ?? "");
            if (!context.Response.HasStarted)
            {
                // A stream already sent its status (200); the access log shows that one.
                context.Response.StatusCode = ApiErrors.ClientClosedRequest;
            }
        }
        catch (ApiException e)
        {
            if (e.StatusCode >= StatusCodes.Status500InternalServerError)
            {
                LogRefused(logger, context.Request.Method, context.Request.Path.Value ?? "", e.Message);
            }
            await ApiErrors.WriteAsync(context, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await ApiErrors.WriteAsync(context, e.StatusCode, e.Message).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ApiErrors.Describe(e)).ConfigureAwait(false);
        }
        catch (ModelNotFoundException e)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, e.Message).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogFailed(logger, context.Request.Method, context.Request.Path.Value ?? "", e);
            await ApiErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, e.Message).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The client went away: the request was aborted, or its body ended before its Content-Length (Kestrel reports that
    /// as a bad request, sometimes before it marks the request aborted).
    /// </summary>
    static bool IsDisconnect(HttpContext context, Exception e) =>
        context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException
        || e is BadHttpRequestException bad && bad.Message.StartsWith(UnexpectedEnd, StringComparison.Ordinal);

    /// <summary>Kestrel's message for a body cut short (CoreStrings.BadRequest_UnexpectedEndOfRequestContent).</summary>
    const string UnexpectedEnd = "Unexpected end of request content";

    [LoggerMessage(Level = LogLevel.Information, Message = "client disconnected: {Method} {Path}")]
    static partial void LogDisconnected(ILogger logger, string method, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: {Error}")]
    static partial void LogRefused(ILogger logger, string method, string path, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    static partial void LogFailed(ILogger logger, string method, string path, Exception exception);
}
