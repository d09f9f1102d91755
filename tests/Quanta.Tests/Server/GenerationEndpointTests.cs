using System.Net;
using System.Text.Json;
using Quanta.Server;
using Quanta.Server.Scheduling;

namespace Quanta.Tests.Server;

/// <summary>
/// <c>/api/generate</c>, <c>/api/chat</c>, <c>/api/ps</c> and the scheduler over the wire: Ollama's framing (NDJSON
/// chunks, the last with <c>done_reason</c>, <c>context</c> and nanosecond durations), the trained tiny model's greedy
/// text as llama.cpp prints it, loading and unloading, errors, a client that disconnects, a full queue, a stop.
/// </summary>
public sealed class GenerationEndpointTests
{
    const string Greedy16 = """{"temperature": 0, "num_predict": 16}""";

    [Fact]
    public async Task Generate_streams_llama_cpp_s_greedy_text_and_ends_with_Ollama_s_last_chunk()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");

        using var response = await server.PostJsonAsync("/api/generate", $$"""{"model": "tiny", "prompt": "The package", "options": {{Greedy16}}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(lines.Count > 2);
        Assert.All(lines[..^1], l => Assert.False(l.GetProperty("done").GetBoolean()));
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(lines.Select(l => l.GetProperty("response").GetString())));

        var last = lines[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        Assert.Equal("length", last.GetProperty("done_reason").GetString());
        Assert.Equal("tiny", last.GetProperty("model").GetString());
        Assert.Equal(16, last.GetProperty("eval_count").GetInt32());
        // BOS, "▁The", "▁package".
        Assert.Equal(3, last.GetProperty("prompt_eval_count").GetInt32());
        Assert.True(last.GetProperty("total_duration").GetInt64() >= last.GetProperty("eval_duration").GetInt64());
        Assert.True(last.GetProperty("eval_duration").GetInt64() > 0);
        // The context is the tokens of prompt and answer: continuing from it with an empty prompt and no template
        // gives the same tokens back in front.
        var context = last.GetProperty("context").EnumerateArray().Select(t => t.GetInt32()).ToList();
        Assert.Equal(1, context[0]);
        Assert.True(context.Count >= 3 + 10, string.Join(',', context));
    }

    [Fact]
    public async Task Generate_without_streaming_is_one_object_and_raw_skips_the_template_and_the_context()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny", "TEMPLATE \"\"\"[INST] {{ .Prompt }} [/INST]\"\"\"");

        using var raw = await server.PostJsonAsync("/api/generate", $$"""{"model": "tiny", "prompt": "The package", "raw": true, "stream": false, "options": {{Greedy16}}}""");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("application/json", raw.Content.Headers.ContentType!.MediaType);
        var body = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(TestServer.GreedyThePackage, body.GetProperty("response").GetString());
        Assert.True(body.GetProperty("done").GetBoolean());
        Assert.False(body.TryGetProperty("context", out _));

        // Through the template the prompt differs, so does the text; the stop option cuts it before the stop word.
        using var templated = await server.PostJsonAsync("/api/generate", """{"model": "tiny", "prompt": "The package", "stream": false, "options": {"temperature": 0, "num_predict": 16, "stop": ["-"]}}""");
        var answer = JsonDocument.Parse(await templated.Content.ReadAsStringAsync()).RootElement;
        Assert.DoesNotContain("-", answer.GetProperty("response").GetString(), StringComparison.Ordinal);
        Assert.True(answer.GetProperty("context").GetArrayLength() > 0);
    }

    [Fact]
    public async Task Chat_with_the_default_template_is_the_prompt_s_continuation_streamed_or_not()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        const string messages = """[{"role": "user", "content": "The package"}]""";

        using var whole = await server.PostJsonAsync("/api/chat", $$"""{"model": "tiny", "messages": {{messages}}, "stream": false, "options": {{Greedy16}}}""");
        var body = JsonDocument.Parse(await whole.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("assistant", body.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(TestServer.GreedyThePackage, body.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", body.GetProperty("done_reason").GetString());
        Assert.Equal(16, body.GetProperty("eval_count").GetInt32());

        using var streamed = await server.PostJsonAsync("/api/chat", $$"""{"model": "tiny", "messages": {{messages}}, "options": {{Greedy16}}}""");
        var lines = (await streamed.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString())));
        Assert.True(lines[^1].GetProperty("done").GetBoolean());
        // The second turn reuses the cached prompt: only the last prompt token is evaluated again.
        Assert.Equal(1, lines[^1].GetProperty("prompt_eval_count").GetInt32());
    }

    [Fact]
    public async Task Format_schema_constrains_the_answer_to_JSON()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        using var response = await server.PostJsonAsync("/api/chat", """
            {"model": "tiny", "stream": false, "messages": [{"role": "user", "content": "The package"}],
             "format": {"type": "object", "properties": {"version": {"type": "integer"}, "name": {"type": "string", "enum": ["dpkg", "apt"]}}, "required": ["version", "name"]},
             "options": {"temperature": 0, "num_predict": 200}}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var content = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetProperty("content").GetString()!;
        var answer = JsonDocument.Parse(content).RootElement;
        Assert.Equal(JsonValueKind.Number, answer.GetProperty("version").ValueKind);
        Assert.Contains(answer.GetProperty("name").GetString(), new[] { "dpkg", "apt" });
    }

    [Fact]
    public async Task Tool_calls_are_read_back_out_of_the_answer()
    {
        await using var server = await TestServer.StartAsync();
        // A template in the style of Llama 3.1's: tools rendered into the prompt, calls written as bare JSON objects.
        server.AddTrainedModel("tools", """"
            TEMPLATE """{{- if .Tools }}Tools: {{ .Tools }}
            {{ end }}{{- range .Messages }}{{ .Role }}: {{ .Content }}{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ end }}
            {{ end }}assistant: """
            """");
        // The format makes the tiny model write a call (it knows nothing of tools); the parser reads it as Ollama's does.
        // (It writes much white space between the JSON tokens, which the grammar allows: hence the budget.)
        const string request = """
            {"model": "tools", "stream": false, "messages": [{"role": "user", "content": "Weather in Paris?"}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
             "format": {"type": "object", "properties": {"name": {"enum": ["get_weather"]}, "arguments": {"type": "object", "properties": {"city": {"enum": ["Paris"]}}, "required": ["city"]}}, "required": ["name", "arguments"]},
             "options": {"temperature": 0, "num_predict": 400}}
            """;
        using var response = await server.PostJsonAsync("/api/chat", request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message");
        Assert.Equal("", message.GetProperty("content").GetString());
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(0, call.GetProperty("function").GetProperty("index").GetInt32());
        Assert.Equal("Paris", call.GetProperty("function").GetProperty("arguments").GetProperty("city").GetString());
        Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_prompt_loads_the_model_keep_alive_0_unloads_it_and_ps_shows_what_is_loaded()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");

        var ps = await PsAsync(server);
        Assert.Equal(0, ps.GetArrayLength());

        using var load = await server.PostJsonAsync("/api/generate", """{"model": "tiny"}""");
        var loaded = JsonDocument.Parse(await load.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("load", loaded.GetProperty("done_reason").GetString());
        Assert.True(loaded.GetProperty("done").GetBoolean());

        var model = Assert.Single((await PsAsync(server)).EnumerateArray());
        Assert.Equal("tiny:latest", model.GetProperty("name").GetString());
        Assert.Equal(new FileInfo(Quanta.Tests.Inference.Models.TinyTrainedModel.ShippedQ8_0).Length, model.GetProperty("size").GetInt64());
        Assert.Equal("llama", model.GetProperty("details").GetProperty("family").GetString());
        var expires = model.GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5.1));

        using var chatLoad = await server.PostJsonAsync("/api/chat", """{"model": "tiny", "messages": [], "keep_alive": "1h"}""");
        Assert.Equal("load", JsonDocument.Parse(await chatLoad.Content.ReadAsStringAsync()).RootElement.GetProperty("done_reason").GetString());
        expires = Assert.Single((await PsAsync(server)).EnumerateArray()).GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(60.1));

        using var unload = await server.PostJsonAsync("/api/generate", """{"model": "tiny", "keep_alive": 0}""");
        Assert.Equal("unload", JsonDocument.Parse(await unload.Content.ReadAsStringAsync()).RootElement.GetProperty("done_reason").GetString());
        Assert.Equal(0, (await PsAsync(server)).GetArrayLength());
        Assert.Contains("unloaded model tiny:latest", server.Log, StringComparison.Ordinal);

        // A request's keep_alive of 0 unloads the model once it has answered.
        using var once = await server.PostJsonAsync("/api/generate", """{"model": "tiny", "prompt": "The", "stream": false, "keep_alive": 0, "options": {"num_predict": 2}}""");
        Assert.Equal(HttpStatusCode.OK, once.StatusCode);
        Assert.Equal(0, (await PsAsync(server)).GetArrayLength());
    }

    [Fact]
    public async Task A_model_is_unloaded_when_its_keep_alive_runs_out_and_the_oldest_idle_one_makes_room()
    {
        await using var server = await TestServer.StartAsync(o => o with { Scheduler = new SchedulerOptions { MaxLoadedModels = 1 } });
        server.AddTrainedModel("tiny");
        server.AddModel("random");

        using (await server.PostJsonAsync("/api/generate", """{"model": "tiny", "keep_alive": "300ms"}"""))
        {
        }
        Assert.Equal(1, (await PsAsync(server)).GetArrayLength());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await PsAsync(server)).GetArrayLength() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, (await PsAsync(server)).GetArrayLength());

        using (await server.PostJsonAsync("/api/generate", """{"model": "tiny", "keep_alive": -1}"""))
        {
        }
        Assert.Equal(DateTimeOffset.MaxValue, Assert.Single((await PsAsync(server)).EnumerateArray()).GetProperty("expires_at").GetDateTimeOffset());
        using (await server.PostJsonAsync("/api/generate", """{"model": "random"}"""))
        {
        }
        Assert.Equal("random:latest", Assert.Single((await PsAsync(server)).EnumerateArray()).GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("/api/generate", """{"model": "nope", "prompt": "x"}""", 404, "model 'nope' not found")]
    [InlineData("/api/chat", """{"model": "nope", "messages": [{"role": "user", "content": "x"}]}""", 404, "model 'nope' not found")]
    [InlineData("/api/generate", """{"prompt": "x"}""", 400, "model is required")]
    [InlineData("/api/chat", """{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "options": {"temperature": "hot"}}""", 400, "option \"temperature\" must be of type float32")]
    [InlineData("/api/chat", """{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "format": "yaml"}""", 400, "invalid format: \"\\\"yaml\\\"\"; expected \"json\" or a valid JSON Schema object")]
    [InlineData("/api/generate", """{"model": "tiny", "prompt": "x", "keep_alive": "soon"}""", 400, "time: invalid duration \"soon\"")]
    [InlineData("/api/generate", """{"model": "tiny", "prompt": "x", "think": "maybe"}""", 400, "invalid think value: \"maybe\" (must be \"high\", \"medium\", \"low\", true, or false)")]
    [InlineData("/api/generate", """{"model": "tiny", "prompt": "x", "suffix": "y"}""", 400, "\"tiny\" does not support insert")]
    [InlineData("/api/generate", """{"model": "tiny", "prompt": "x", "images": ["AAAA"]}""", 400, "\"tiny\" does not support images: it has no vision encoder")]
    public async Task Bad_requests_get_Ollama_s_status_and_error(string path, string body, int status, string error)
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        using var response = await server.PostJsonAsync(path, body);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(error, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_malformed_body_is_a_400_with_an_error()
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.PostJsonAsync("/api/chat", """{"model": "tiny", "messages": [{"role": 5}]""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_generation_at_once()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        var endless = """{"model": "tiny", "prompt": "The package", "options": {"num_predict": 100000}}""";

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = new StringContent(endless) })
        using (var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.False(string.IsNullOrEmpty(await reader.ReadLineAsync()));
        }
        // The model is free again at once: the next request is answered although the first asked for 20,480 tokens
        // (ten times the context), which take far longer.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var next = await server.PostJsonAsync("/api/generate", $$"""{"model": "tiny", "prompt": "The package", "stream": false, "options": {{Greedy16}}}""");
        Assert.Equal(TestServer.GreedyThePackage, JsonDocument.Parse(await next.Content.ReadAsStringAsync()).RootElement.GetProperty("response").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!server.Log.Contains("client disconnected: POST /api/generate", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Contains("client disconnected: POST /api/generate", server.Log, StringComparison.Ordinal);
        // The stream had sent its status: the access line says 200, once, and no stack trace follows.
        await Task.Delay(200);
        Assert.Contains("200 POST /api/generate", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_beyond_the_queue_are_refused_with_503_and_a_stop_ends_a_generation_with_an_error_line()
    {
        var server = await TestServer.StartAsync(o => o with { Scheduler = new SchedulerOptions { MaxQueue = 1, NumParallel = 1 } });
        try
        {
            server.AddTrainedModel("tiny");
            var endless = """{"model": "tiny", "prompt": "The package", "options": {"num_predict": 100000}}""";
            using var first = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = new StringContent(endless) }, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await first.Content.ReadAsStreamAsync());
            Assert.False(string.IsNullOrEmpty(await reader.ReadLineAsync()));

            // The second waits for the model (the queue's one place); the third finds the queue full.
            var second = server.PostJsonAsync("/api/generate", """{"model": "tiny", "prompt": "x", "stream": false, "options": {"num_predict": 1}}""");
            await Task.Delay(500);
            using var third = await server.PostJsonAsync("/api/generate", """{"model": "tiny", "prompt": "x"}""");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
            Assert.Equal(ModelScheduler.QueueFullMessage, JsonDocument.Parse(await third.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());

            // A stop cancels the running generation: its stream ends with an error line, within a few seconds.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await server.Server.StopAsync();
            Assert.True(clock.Elapsed < QuantaServer.ShutdownTimeout, clock.Elapsed.ToString());
            var rest = await reader.ReadToEndAsync();
            var lastLine = rest.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            Assert.Equal("the server is shutting down", JsonDocument.Parse(lastLine).RootElement.GetProperty("error").GetString());
            try
            {
                (await second).Dispose();
            }
            catch (HttpRequestException)
            {
                // Cut off by the stop: either answer is right for a request that was still waiting.
            }
            Assert.Contains("unloaded model tiny:latest", server.Log, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    static async Task<JsonElement> PsAsync(TestServer server)
    {
        using var response = await server.Http.GetAsync("/api/ps");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("models").Clone();
    }
}
