using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Quanta.Tests.Server;

/// <summary>
/// The error model: every error is <c>{"error": "..."}</c> with Ollama's status (OpenAI's error object under /v1),
/// malformed JSON and wrong types included; model names and digests never reach outside the store; a body over the
/// limit is refused from its Content-Length without being read.
/// </summary>
public sealed class ApiErrorTests
{
    [Theory]
    [InlineData("POST", "/api/show", "{bad", 400)]
    [InlineData("POST", "/api/show", "", 400)]
    [InlineData("POST", "/api/show", "   ", 400)]
    [InlineData("POST", "/api/show", """{"model":5}""", 400)]
    [InlineData("POST", "/api/show", """["model"]""", 400)]
    [InlineData("POST", "/api/copy", """{"source":true}""", 400)]
    [InlineData("DELETE", "/api/delete", "{", 400)]
    [InlineData("POST", "/api/create", """{"model":"m","files":[1]}""", 400)]
    [InlineData("POST", "/api/pull", "nonsense", 400)]
    [InlineData("GET", "/api/nothing", null, 404)]
    [InlineData("GET", "/api/show", null, 405)]
    [InlineData("DELETE", "/api/tags", null, 405)]
    public async Task Malformed_requests_get_Ollamas_error_object(string method, string path, string? body, int status)
    {
        await using var server = await TestServer.StartAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await server.Http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var property = Assert.Single(error.RootElement.EnumerateObject());
        Assert.Equal("error", property.Name);
        Assert.False(string.IsNullOrWhiteSpace(property.Value.GetString()));
        if (body is "" or "   ")
        {
            Assert.Equal("missing request body", property.Value.GetString());
        }
    }

    [Fact]
    public async Task OpenAI_routes_answer_OpenAIs_error_object()
    {
        await using var server = await TestServer.StartAsync();

        var response = await server.Http.GetAsync("/v1/models/nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("""{"error":{"message":"model 'nope' not found","type":"not_found_error","param":null,"code":null}}""", await response.Content.ReadAsStringAsync());
        var invalid = await server.Http.GetAsync("/v1/models/..%2F..%2Fetc%2Fpasswd");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var error = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    /// <summary>Names that would leave manifests/ if they were joined to a path as they are.</summary>
    public static TheoryData<string> Escapes => new()
    {
        "../../../../etc/passwd", "..", "../x", "a/../../b", "/etc/passwd", "x/../../../y:latest", "a/b/c/d", "..\\..\\x",
        "m:../../x", "host:1/../..", "%2e%2e/x", "x\0y", "./x",
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task Model_names_cannot_reach_outside_the_store_through_any_endpoint(string name)
    {
        await using var server = await TestServer.StartAsync();
        server.AddModel("tiny");
        var before = Snapshot(server);
        var quoted = JsonSerializer.Serialize(name);

        var answers = new List<HttpResponseMessage>
        {
            await server.PostJsonAsync("/api/show", $$"""{"model":{{quoted}}}"""),
            await server.PostJsonAsync("/api/copy", $$"""{"source":"tiny","destination":{{quoted}}}"""),
            await server.PostJsonAsync("/api/copy", $$"""{"source":{{quoted}},"destination":"x"}"""),
            await server.SendJsonAsync(HttpMethod.Delete, "/api/delete", $$"""{"model":{{quoted}}}"""),
            await server.PostJsonAsync("/api/create", $$"""{"model":{{quoted}},"from":"tiny"}"""),
            await server.PostJsonAsync("/api/create", $$"""{"model":"x","from":{{quoted}}}"""),
            await server.PostJsonAsync("/api/pull", $$"""{"model":{{quoted}}}"""),
            await server.PostJsonAsync("/api/create", $$$"""{"model":"x","files":{{{{quoted}}}:"sha256:{{{new string('0', 64)}}}"}}"""),
            await server.Http.GetAsync("/v1/models/" + Uri.EscapeDataString(name)),
            await server.Http.GetAsync("/api/blobs/" + Uri.EscapeDataString(name)),
            await server.Http.PostAsync("/api/blobs/" + Uri.EscapeDataString(name), new ByteArrayContent([1])),
        };

        foreach (var answer in answers)
        {
            // Refused (400), or not found under that name (404, 405 for a path that is no route): never done.
            Assert.Contains((int)answer.StatusCode, new[] { 400, 404, 405 });
        }
        Assert.Equal(before, Snapshot(server));
    }

    /// <summary>Every file under the store's parent folder (the store, the fixture, anything a escape could write).</summary>
    static string Snapshot(TestServer server)
    {
        var root = Path.GetDirectoryName(server.StoreRoot)!;
        return string.Join('\n', Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Where(p => !p.Contains(".quanta.lock", StringComparison.Ordinal) && !p.Contains(".quanta.verified", StringComparison.Ordinal))
            .Select(p => $"{Path.GetRelativePath(root, p)} {(File.Exists(p) ? new FileInfo(p).Length : -1)}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_1_GB_body_is_refused_from_its_length_without_being_read()
    {
        await using var server = await TestServer.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Address.Port);
        var stream = client.GetStream();
        var head = Encoding.ASCII.GetBytes(
            $"POST /api/show HTTP/1.1\r\nHost: 127.0.0.1:{server.Address.Port}\r\nContent-Type: application/json\r\nContent-Length: {1L << 30}\r\n\r\n{{\"model\":");
        await stream.WriteAsync(head);

        // The answer comes while the client has sent a few bytes of the gigabyte, and the server then hangs up.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }
        var answer = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 413 Payload Too Large\r\n", answer, StringComparison.Ordinal);
        Assert.EndsWith("""{"error":"request body too large: the limit is 134217728 bytes"}""", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_cut_off_at_the_limit()
    {
        await using var server = await TestServer.StartAsync(o => o with { MaxRequestBodyBytes = 1024 });
        var big = new StringContent("{\"model\":\"" + new string('x', 4096) + "\"}", Encoding.UTF8, "application/json");
        big.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/show") { Content = new ChunkedContent(big) };

        var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("""{"error":"request body too large: the limit is 1024 bytes"}""", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Content without a length, so that HttpClient sends it chunked.</summary>
    sealed class ChunkedContent(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => inner.CopyToAsync(stream, context);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
