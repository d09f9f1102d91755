namespace Quanta.Server.Http;

/// <summary>
/// Cross-origin requests as Ollama answers them (gin-contrib/cors with Ollama's configuration): a request without an
/// <c>Origin</c>, or from the server's own origin, passes untouched; an origin <see cref="OriginPolicy"/> does not allow
/// is refused with 403; a preflight (<c>OPTIONS</c>) gets the allowed methods and headers and 204; any other request
/// from an allowed origin gets <c>Access-Control-Allow-Origin</c> (the origin itself, or <c>*</c>) and goes on.
/// </summary>
public sealed class CorsMiddleware(RequestDelegate next, OriginPolicy policy)
{
    const string AllowedMethods = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS";

    /// <summary>Ollama's list, OpenAI's SDK headers included, in the canonical case Go's http.CanonicalHeaderKey gives them.</summary>
    const string AllowedHeaders = "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
        + "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,X-Stainless-Lang,X-Stainless-Os,"
        + "X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,X-Stainless-Runtime,"
        + "X-Stainless-Runtime-Version,X-Stainless-Timeout";

    /// <summary>gin-contrib/cors's default: a preflight answer may be cached for 12 hours.</summary>
    const string MaxAgeSeconds = "43200";

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var origin = context.Request.Headers.Origin.ToString();
        var host = context.Request.Host.Value;
        if (origin.Length == 0 || origin == "http://" + host || origin == "https://" + host)
        {
            return next(context);
        }
        if (!policy.Allows(origin))
        {
            return ApiErrors.WriteAsync(context, StatusCodes.Status403Forbidden, $"origin '{origin}' is not allowed; add it to {ServerOptions.OriginsVariable}");
        }
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = policy.AllowsAll ? "*" : origin;
        if (!policy.AllowsAll)
        {
            headers.Vary = "Origin";
        }
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            headers.AccessControlAllowMethods = AllowedMethods;
            headers.AccessControlAllowHeaders = AllowedHeaders;
            headers.AccessControlMaxAge = MaxAgeSeconds;
            if (!policy.AllowsAll)
            {
                headers.Vary = "Origin,Access-Control-Request-Method,Access-Control-Request-Headers";
            }
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
        return next(context);
    }
}
