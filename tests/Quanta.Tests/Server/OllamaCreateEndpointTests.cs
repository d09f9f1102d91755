using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Quanta.Store;

namespace Quanta.Tests.Server;

/// <summary>
/// <c>/api/blobs/:digest</c> and <c>/api/create</c> as Ollama's CLI drives them: HEAD the blob, POST it if missing, then
/// create from <c>files</c> or <c>from</c>; status lines streamed as NDJSON (Ollama's words), errors with its codes.
/// </summary>
public sealed class OllamaCreateEndpointTests
{
    static async Task<string> UploadFixtureAsync(TestServer server)
    {
        var (bytes, digest) = TestServer.Fixture();
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/blobs/{digest}"))).StatusCode);
        var upload = await server.Http.PostAsync($"/api/blobs/{digest}", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/api/blobs/{digest}"))).StatusCode);
        return digest;
    }

    [Fact]
    public async Task Blob_upload_is_verified_against_its_digest_and_kept_once()
    {
        await using var server = await TestServer.StartAsync();
        var digest = await UploadFixtureAsync(server);
        Assert.Equal(File.ReadAllBytes(Quanta.Tests.Cli.CliRunner.TinyModel), File.ReadAllBytes(server.Store.BlobPath(digest)));

        // Already there: 200 without reading the body (Ollama's answer).
        var again = await server.Http.PostAsync($"/api/blobs/{digest}", new ByteArrayContent([1, 2, 3]));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var wrong = "sha256:" + new string('0', 64);
        var mismatch = await server.Http.PostAsync($"/api/blobs/{wrong}", new ByteArrayContent([1, 2, 3]));
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        Assert.Equal(
            $$"""{"error":"digest mismatch, expected \"{{wrong}}\", got \"sha256:039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81\""}""",
            await mismatch.Content.ReadAsStringAsync());
        Assert.False(File.Exists(server.Store.BlobPath(wrong)));
        Assert.Single(Directory.EnumerateFiles(server.Store.BlobsDirectory));

        var invalid = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/blobs/sha256:1234"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
    }

    [Fact]
    public async Task Create_from_an_uploaded_GGUF_streams_Ollamas_status_lines_and_writes_every_field()
    {
        await using var server = await TestServer.StartAsync();
        var digest = await UploadFixtureAsync(server);
        var request = $$$"""
            {"model":"made","files":{"tiny.gguf":"{{{digest}}}"},"template":"{{ .System }} {{ .Prompt }}","system":"be brief",
             "parameters":{"temperature":0.5,"stop":["<a>","<b>"],"num_ctx":128},"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],
             "license":["MIT","Apache-2.0"]}
            """;

        var response = await server.PostJsonAsync("/api/create", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetString()).ToList();
        Assert.Equal($"using existing layer {digest}", lines[0]);
        Assert.Equal(["writing manifest", "success"], lines[^2..]);
        Assert.All(lines[1..^2], l => Assert.Matches("^(creating new|using existing) layer sha256:[0-9a-f]{64}$", l));

        var model = StoredModel.Load(server.Store, ModelName.Parse("made"));
        Assert.Equal("{{ .System }} {{ .Prompt }}", model.Template);
        Assert.Equal("be brief", model.System);
        Assert.Equal(["MIT", "Apache-2.0"], model.Licenses);
        Assert.Equal([("user", "hi"), ("assistant", "hello")], model.Messages);
        Assert.Equal(
            ["num_ctx                        128", "stop                           \"<a>\"", "stop                           \"<b>\"", "temperature                    0.5"],
            Quanta.Server.Ollama.ShowResponseWriter.ParameterLines(model.Parameters).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllBytes(Quanta.Tests.Cli.CliRunner.TinyModel), File.ReadAllBytes(model.ModelPath));
    }

    [Fact]
    public async Task Create_from_a_model_quantized_and_not_streamed_answers_the_last_status_only()
    {
        await using var server = await TestServer.StartAsync();
        server.AddModel("base");

        var response = await server.PostJsonAsync("/api/create", """{"model":"child:q8","from":"base","quantize":"q8_0","system":"child","stream":false}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"status":"success"}""", await response.Content.ReadAsStringAsync());
        using var show = JsonDocument.Parse(await (await server.PostJsonAsync("/api/show", """{"model":"child:q8"}""")).Content.ReadAsStringAsync());
        var details = show.RootElement.GetProperty("details");
        Assert.Equal("base:latest", details.GetProperty("parent_model").GetString());
        Assert.Equal("Q8_0", details.GetProperty("quantization_level").GetString());
        Assert.Equal("child", show.RootElement.GetProperty("system").GetString());
        Assert.Equal("Q8_0", show.RootElement.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "blk.0.attn_q.weight").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"model":"m"}""", 400, "neither 'from' or 'files' was specified")]
    [InlineData("""{"model":"m","files":{}}""", 400, "no files provided to convert")]
    [InlineData("""{"model":"m","files":{"../tiny.gguf":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}""", 400, "file path must be relative")]
    [InlineData("""{"model":"m","files":{"/etc/passwd":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}""", 400, "file path must be relative")]
    [InlineData("""{"model":"m","files":{"tiny.gguf":"../../etc/passwd"}}""", 400, "invalid digest format")]
    [InlineData("""{"model":"m","files":{"tiny.gguf":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}""", 400,
        "blob sha256:0000000000000000000000000000000000000000000000000000000000000000 not found: upload it first with POST /api/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("""{"model":"m","from":"/etc/passwd"}""", 400, "invalid model name")]
    [InlineData("""{"model":"m","from":"nope"}""", 404, "model 'nope:latest' not found")]
    [InlineData("""{"model":"../m","from":"nope"}""", 400, "invalid model name '../m': the namespace '..' must start with a letter, digit or '_', not '.'")]
    [InlineData("""{"model":"m","from":"base","quantize":"q9_9"}""", 400, "unsupported quantization type Q9_9; run 'quanta types' for the supported types")]
    [InlineData("""{"model":"m","from":"base","parameters":{"top_k":"many"}}""", 400, "")]
    public async Task Create_refuses_what_cannot_be_created_with_Ollamas_codes(string request, int status, string message)
    {
        await using var server = await TestServer.StartAsync();
        server.AddModel("base");

        var response = await server.PostJsonAsync("/api/create", request);

        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var text = error.RootElement.GetProperty("error").GetString()!;
        if (message.Length > 0)
        {
            Assert.Equal(message, text);
        }
        Assert.Null(server.Store.TryGetManifest(ModelName.Parse("m")));
    }

    [Fact]
    public async Task A_create_that_fails_after_streaming_began_ends_with_an_error_line()
    {
        await using var server = await TestServer.StartAsync();
        var (bytes, digest) = TestServer.Fixture();
        await server.Http.PostAsync($"/api/blobs/{digest}", new ByteArrayContent(bytes));
        // An adapter that is not one: found after the model layer's status line has gone out.
        var response = await server.PostJsonAsync("/api/create", $$$"""{"model":"m","files":{"tiny.gguf":"{{{digest}}}"},"adapters":{"lora.gguf":"{{{digest}}}"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($$"""{"status":"using existing layer {{digest}}"}""", lines[0]);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.EndsWith("this GGUF is not a LoRA adapter (general.type is not \"adapter\")", last.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Null(server.Store.TryGetManifest(ModelName.Parse("m")));
    }

    [Fact]
    public async Task An_upload_the_client_abandons_leaves_nothing_and_one_log_line()
    {
        await using var server = await TestServer.StartAsync();
        var (bytes, digest) = TestServer.Fixture();
        using (var client = new System.Net.Sockets.TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, server.Address.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                $"POST /api/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {bytes.Length}\r\n\r\n"));
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await stream.FlushAsync();
            await Task.Delay(200);
        }

        // The server notices, cleans up and says so in one line.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!server.Log.Contains("client disconnected", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(server.Log.Contains($"msg=\"client disconnected: POST /api/blobs/{digest}\"", StringComparison.Ordinal), server.Log);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(server.Store.BlobsDirectory));
    }

    [Fact]
    public async Task Create_from_an_uploaded_Hugging_Face_checkpoint_converts_it_as_convert_hf_to_gguf_does()
    {
        await using var server = await TestServer.StartAsync();
        using var checkpoint = new TempDirectory();
        Quanta.Tests.Conversion.TinyCheckpoint.Write("llama", checkpoint.Path);
        var files = new Dictionary<string, string>();
        foreach (var file in Directory.EnumerateFiles(checkpoint.Path))
        {
            var bytes = File.ReadAllBytes(file);
            var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
            Assert.Equal(HttpStatusCode.Created, (await server.Http.PostAsync($"/api/blobs/{digest}", new ByteArrayContent(bytes))).StatusCode);
            files[Path.GetFileName(file)] = digest;
        }

        // Named like the golden checkpoint's folder, which the converter takes for general.name.
        var response = await server.PostJsonAsync("/api/create", JsonSerializer.Serialize(new { model = "llama", files }));

        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("""{"status":"converting model"}""", lines[0]);
        Assert.Equal("""{"status":"success"}""", lines[^1]);
        var model = StoredModel.Load(server.Store, ModelName.Parse("llama"));
        using (var gguf = Quanta.Formats.Gguf.GgufFile.Open(model.ModelPath))
        {
            var expected = Quanta.Tests.Conversion.ExpectedConversion.Load(
                Path.Combine(Quanta.Tests.Conversion.TinyCheckpoint.FixtureDirectory("llama"), "expected.bf16.json"));
            Quanta.Tests.Conversion.ExpectedConversion.AssertMatches(expected, gguf, includeTokenizer: true);
        }
        // The links to the blobs are gone with the request; the blobs stay for a later create.
        Assert.Empty(Directory.EnumerateDirectories(server.StoreRoot, ".quanta-create.*"));
        Assert.All(files.Values, digest => Assert.True(File.Exists(server.Store.BlobPath(digest))));
    }
}
