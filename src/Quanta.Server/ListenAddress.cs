using System.Globalization;
using System.Net;

namespace Quanta.Server;

/// <summary>
/// Where the server listens: <c>QUANTA_HOST</c> read as Ollama reads <c>OLLAMA_HOST</c> (envconfig.Host): an optional
/// scheme (<c>http://</c> defaults the port to 80, <c>https://</c> to 443, none to 11434), a host that defaults to
/// 127.0.0.1, an optional port, and a path that is kept but not used for listening. A port that is not a number
/// from 0 to 65535 falls back to the default, as Ollama's does (with a warning).
/// </summary>
public sealed record ListenAddress(string Scheme, string Host, int Port, string Path)
{
    public const string Variable = "QUANTA_HOST";

    public const int DefaultPort = 11434;

    public static ListenAddress Default { get; } = new("http", "127.0.0.1", DefaultPort, "");

    /// <summary>Set when the port given could not be used and the default was taken instead.</summary>
    public string? Warning { get; init; }

    /// <summary>Parses a value as Ollama's <c>envconfig.Host</c> does (spaces and surrounding quotes trimmed first, as its <c>Var</c> does).</summary>
    public static ListenAddress Parse(string? value)
    {
        // Var's trimming, then Host's own TrimSpace.
        var s = (value ?? "").Trim().Trim('"', '\'').Trim();
        var defaultPort = DefaultPort.ToString(CultureInfo.InvariantCulture);
        string scheme, hostPort;
        var separator = s.IndexOf("://", StringComparison.Ordinal);
        if (separator < 0)
        {
            (scheme, hostPort) = ("http", s);
            if (s == "ollama.com")
            {
                (scheme, hostPort) = ("https", "ollama.com:443");
            }
        }
        else
        {
            (scheme, hostPort) = (s[..separator], s[(separator + 3)..]);
            defaultPort = scheme switch
            {
                "http" => "80",
                "https" => "443",
                _ => defaultPort,
            };
        }
        var path = "";
        var slash = hostPort.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            (hostPort, path) = (hostPort[..slash], hostPort[(slash + 1)..]);
        }
        if (!TrySplitHostPort(hostPort, out var host, out var port))
        {
            (host, port) = ("127.0.0.1", defaultPort);
            if (IPAddress.TryParse(hostPort.Trim('[', ']'), out var ip))
            {
                host = ip.ToString();
            }
            else if (hostPort.Length > 0)
            {
                host = hostPort;
            }
        }
        string? warning = null;
        if (!int.TryParse(port, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) || number is < 0 or > 65535)
        {
            warning = $"invalid port '{port}' in {Variable}, using the default {defaultPort}";
            number = int.Parse(defaultPort, CultureInfo.InvariantCulture);
        }
        return new ListenAddress(scheme, host, number, path) { Warning = warning };
    }

    /// <summary>Go's <c>net.SplitHostPort</c>: <c>host:port</c> or <c>[v6 host]:port</c>; an empty host is allowed.</summary>
    static bool TrySplitHostPort(string hostPort, out string host, out string port)
    {
        (host, port) = ("", "");
        var colon = hostPort.LastIndexOf(':');
        if (colon < 0)
        {
            return false;
        }
        var h = hostPort[..colon];
        if (h.StartsWith('['))
        {
            if (!h.EndsWith(']'))
            {
                return false;
            }
            h = h[1..^1];
        }
        else if (h.Contains(':', StringComparison.Ordinal))
        {
            return false; // too many colons: a bare IPv6 address without a port
        }
        (host, port) = (h, hostPort[(colon + 1)..]);
        return true;
    }

    /// <summary>The addresses to bind: the IP itself, or what the host name resolves to (Go's listener takes the first).</summary>
    public IPAddress ResolveBindAddress()
    {
        if (Host.Length == 0)
        {
            return IPAddress.Any; // ":11434" in Go listens on every interface
        }
        if (IPAddress.TryParse(Host, out var ip))
        {
            return ip;
        }
        if (Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }
        return Dns.GetHostAddresses(Host).FirstOrDefault() ?? throw new ArgumentException($"{Variable}: cannot resolve host '{Host}'");
    }

    /// <summary>The address as Ollama's <c>Host().String()</c> spells it: <c>http://127.0.0.1:11434</c>, <c>http://[::1]:11434</c>.</summary>
    public override string ToString() =>
        $"{Scheme}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}{(Path.Length > 0 ? "/" + Path : "")}";
}
