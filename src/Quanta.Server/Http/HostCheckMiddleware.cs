using System.Net;
using System.Net.NetworkInformation;

namespace Quanta.Server.Http;

/// <summary>
/// Ollama's defence against DNS rebinding (allowedHostsMiddleware): while the server listens on a loopback address, a
/// request whose <c>Host</c> is not a loopback, private, unspecified or local address, nor <c>localhost</c>, this
/// machine's name or a name under <c>.localhost</c>, <c>.local</c> or <c>.internal</c>, is refused with 403, so a web
/// page whose name was made to point at 127.0.0.1 cannot reach the API. Listening on another address turns it off.
/// </summary>
public sealed class HostCheckMiddleware(RequestDelegate next, bool listeningOnLoopback)
{
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!listeningOnLoopback)
        {
            return next(context);
        }
        var host = context.Request.Host.Host;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
        {
            if (IsLocalAddress(address))
            {
                return next(context);
            }
        }
        else if (IsAllowedName(host))
        {
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return Task.CompletedTask;
            }
            return next(context);
        }
        return ApiErrors.WriteAsync(context, StatusCodes.Status403Forbidden, $"host '{host}' is not allowed");
    }

    /// <summary>Go's netip IsLoopback, IsPrivate (10/8, 172.16/12, 192.168/16, fc00::/7), IsUnspecified, or an address of this machine.</summary>
    internal static bool IsLocalAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        var b = address.GetAddressBytes();
        var isPrivate = b.Length == 4
            ? b[0] == 10 || b[0] == 172 && (b[1] & 0xF0) == 16 || b[0] == 192 && b[1] == 168
            : (b[0] & 0xFE) == 0xFC;
        return isPrivate || IsOwnAddress(address);
    }

    static bool IsOwnAddress(IPAddress address)
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Any(a => a.Address.Equals(address));
        }
        catch (NetworkInformationException)
        {
            return false;
        }
    }

    /// <summary>Ollama's allowedHost.</summary>
    internal static bool IsAllowedName(string host)
    {
        host = host.ToLowerInvariant();
        if (host.Length == 0 || host == "localhost" || host == Dns.GetHostName().ToLowerInvariant())
        {
            return true;
        }
        return host.EndsWith(".localhost", StringComparison.Ordinal) || host.EndsWith(".local", StringComparison.Ordinal) || host.EndsWith(".internal", StringComparison.Ordinal);
    }
}
