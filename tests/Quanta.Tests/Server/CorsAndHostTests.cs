using System.Net;
using Quanta.Server;
using Quanta.Server.Http;

namespace Quanta.Tests.Server;

/// <summary>
/// Browser access as Ollama allows it: OLLAMA_ORIGINS' list (Ollama's envconfig TestOrigins) with gin-contrib/cors's
/// matching, preflights, 403 for other origins, and the DNS-rebinding host check while listening on loopback.
/// </summary>
public sealed class CorsAndHostTests
{
    /// <summary>Ollama's TestOrigins: what every configuration ends with.</summary>
    static readonly string[] OllamaDefaults =
    [
        "http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
        "http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
        "http://0.0.0.0", "https://0.0.0.0", "http://0.0.0.0:*", "https://0.0.0.0:*",
        "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
    ];

    [Fact]
    public void The_default_origins_are_Ollamas()
    {
        Assert.Equal(OllamaDefaults, OriginPolicy.Defaults);
        Assert.Equal(["http://172.16.0.1", "https://192.168.0.1"], ServerOptions.ParseOrigins(" \"http://172.16.0.1,https://192.168.0.1\" "));
        Assert.Empty(ServerOptions.ParseOrigins(""));
    }

    [Theory]
    [InlineData("http://localhost", true)]
    [InlineData("http://localhost:3000", true)]
    [InlineData("https://127.0.0.1:8443", true)]
    [InlineData("http://0.0.0.0:1", true)]
    [InlineData("app://obsidian.md", true)]
    [InlineData("vscode-webview://abc", true)]
    [InlineData("tauri://localhost", true)]
    [InlineData("file://", true)]
    [InlineData("http://localhost.evil.com", false)]
    [InlineData("http://evil.com", false)]
    [InlineData("https://example.com", false)]
    [InlineData("chrome-extension://abcdef", false)]
    [InlineData("null", false)]
    public void Loopback_and_app_origins_are_allowed_by_default(string origin, bool allowed)
    {
        Assert.Equal(allowed, new OriginPolicy([]).Allows(origin));
    }

    [Fact]
    public void Configured_origins_add_exact_and_wildcard_entries_and_star_allows_all()
    {
        var policy = new OriginPolicy(ServerOptions.ParseOrigins("https://Example.com, chrome-extension://*,*.trusted.dev"));
        Assert.True(policy.Allows("https://example.com"));
        Assert.True(policy.Allows("chrome-extension://abcdef"));
        Assert.True(policy.Allows("https://app.trusted.dev"));
        Assert.False(policy.Allows("https://example.org"));
        Assert.False(policy.AllowsAll);
        Assert.True(new OriginPolicy(["*"]).Allows("https://anything.example"));
    }

    [Fact]
    public async Task Allowed_origins_get_CORS_headers_and_preflights_others_403()
    {
        await using var server = await TestServer.StartAsync(o => o with { Origins = ["https://webui.example"] });

        using var simple = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        simple.Headers.Add("Origin", "http://localhost:3000");
        var answer = await server.Http.SendAsync(simple);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("http://localhost:3000", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("Origin", answer.Headers.Vary.Single());

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chat");
        preflight.Headers.Add("Origin", "https://webui.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type,x-stainless-os");
        var preflightAnswer = await server.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflightAnswer.StatusCode);
        Assert.Equal("https://webui.example", preflightAnswer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS", preflightAnswer.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Contains("X-Stainless-Os", preflightAnswer.Headers.GetValues("Access-Control-Allow-Headers").Single().Split(','));
        Assert.Equal("43200", preflightAnswer.Headers.GetValues("Access-Control-Max-Age").Single());

        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        foreign.Headers.Add("Origin", "https://evil.example");
        var refused = await server.Http.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal("""{"error":"origin 'https://evil.example' is not allowed; add it to QUANTA_ORIGINS"}""", await refused.Content.ReadAsStringAsync());

        // The server's own origin is no cross-origin request.
        using var own = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        own.Headers.Add("Origin", $"http://127.0.0.1:{server.Address.Port}");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(own)).StatusCode);
    }

    [Theory]
    [InlineData("localhost", 200)]
    [InlineData("127.0.0.1", 200)]
    [InlineData("[::1]", 200)]
    [InlineData("192.168.1.10", 200)]
    [InlineData("10.1.2.3", 200)]
    [InlineData("mybox.local", 200)]
    [InlineData("app.localhost", 200)]
    [InlineData("svc.internal", 200)]
    [InlineData("evil.com", 403)]
    [InlineData("8.8.8.8", 403)]
    [InlineData("localhost.evil.com", 403)]
    public async Task On_loopback_only_local_host_names_are_served(string host, int status)
    {
        await using var server = await TestServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/version");
        request.Headers.Host = $"{host}:{server.Address.Port}";

        var response = await server.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
    }
}
