using Microsoft.AspNetCore.Http.Features;

namespace Quanta.Server.Http;

/// <summary>Marks an endpoint whose body has no size limit (blob uploads, which stream to disk and are checked by digest).</summary>
public sealed class UnlimitedBodyAttribute : Attribute;

/// <summary>
/// Refuses a body larger than the limit from its <c>Content-Length</c> alone, before a byte of it is read (Kestrel then
/// closes the connection instead of draining it); lifts the limit for endpoints marked <see cref="UnlimitedBodyAttribute"/>.
/// A chunked body without a length is stopped by Kestrel as soon as it passes the limit.
/// </summary>
public sealed class BodyLimitMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false } && context.GetEndpoint()?.Metadata.GetMetadata<UnlimitedBodyAttribute>() is not null)
        {
            feature.MaxRequestBodySize = null;
        }
        else if (feature?.MaxRequestBodySize is { } limit && context.Request.ContentLength > limit)
        {
            return ApiErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"request body too large: the limit is {limit} bytes");
        }
        return next(context);
    }
}
