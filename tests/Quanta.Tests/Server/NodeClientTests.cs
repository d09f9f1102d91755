using System.Diagnostics;
using System.Text.Json;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Server;

/// <summary>
/// The npm clients, unchanged, against the server: <c>ollama</c> (ollama-js) and <c>openai</c>, pinned in
/// tests/clients/package.json and installed there by .ci/run (<c>npm ci</c>). For a local run, install them there the
/// same way, or anywhere else and point <c>QUANTA_NODE_CLIENTS</c> at that folder.
/// </summary>
public sealed class NodeClientTests
{
    [Fact]
    public async Task Ollama_js_and_openai_node_list_show_create_copy_delete_and_read_errors()
    {
        await using var server = await TestServer.StartAsync();
        var script = ClientScript();

        var output = await RunNodeAsync(script, server.Address.ToString().TrimEnd('/'), CliRunner.TinyModel);

        using var document = JsonDocument.Parse(output);
        var r = document.RootElement;
        Assert.Equal("0.33.0", r.GetProperty("version").GetString());
        Assert.Equal(404, r.GetProperty("headBefore").GetInt32());
        Assert.Equal(201, r.GetProperty("upload").GetInt32());
        var statuses = r.GetProperty("createStatuses").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal(["writing manifest", "success"], statuses[^2..]);

        var listed = Assert.Single(r.GetProperty("list").EnumerateArray());
        Assert.Equal("js:latest", listed.GetProperty("name").GetString());
        Assert.Equal("js:latest", listed.GetProperty("model").GetString());
        Assert.Equal("llama", listed.GetProperty("details").GetProperty("family").GetString());
        Assert.Equal("F16", listed.GetProperty("details").GetProperty("quantization_level").GetString());
        Assert.Matches("^[0-9a-f]{64}$", listed.GetProperty("digest").GetString());

        var show = r.GetProperty("show");
        Assert.Equal("from js", show.GetProperty("system").GetString());
        Assert.Equal("temperature                    0.5", show.GetProperty("parameters").GetString());
        Assert.Equal("llama", show.GetProperty("family").GetString());
        Assert.Equal("llama", show.GetProperty("architecture").GetString());
        Assert.Equal(3_410_176, show.GetProperty("parameterCount").GetInt64());
        Assert.Equal(["completion"], show.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));

        Assert.Equal("success", r.GetProperty("copy").GetString());
        Assert.Equal(["js-copy:latest", "js:latest"], r.GetProperty("afterCopy").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("success", r.GetProperty("delete").GetString());
        Assert.Equal(["js:latest"], r.GetProperty("afterDelete").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(0, r.GetProperty("ps").GetInt32());

        var missing = r.GetProperty("missing");
        Assert.Equal("ResponseError", missing.GetProperty("name").GetString());
        Assert.Equal(404, missing.GetProperty("status").GetInt32());
        Assert.Equal("model 'nope:latest' not found", missing.GetProperty("error").GetString());
        var traversal = r.GetProperty("traversal");
        Assert.Equal(400, traversal.GetProperty("status").GetInt32());
        Assert.Equal("name \"../../etc/passwd\" is invalid", traversal.GetProperty("error").GetString());
        Assert.Equal(400, r.GetProperty("malformed").GetProperty("status").GetInt32());
        Assert.True(r.GetProperty("malformed").GetProperty("body").TryGetProperty("error", out _));

        var openAiModel = Assert.Single(r.GetProperty("openaiModels").EnumerateArray());
        Assert.Equal("js:latest", openAiModel.GetProperty("id").GetString());
        Assert.Equal("model", openAiModel.GetProperty("object").GetString());
        Assert.Equal("library", openAiModel.GetProperty("owned_by").GetString());
        Assert.Equal("js:latest", r.GetProperty("openaiModel").GetProperty("id").GetString());
        var openAiMissing = r.GetProperty("openaiMissing");
        Assert.Equal("NotFoundError", openAiMissing.GetProperty("name").GetString());
        Assert.Equal(404, openAiMissing.GetProperty("status").GetInt32());
        Assert.Equal("not_found_error", openAiMissing.GetProperty("type").GetString());
        Assert.Equal("model 'nope' not found", openAiMissing.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Ollama_js_and_openai_node_generate_chat_call_tools_and_complete()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        server.AddTrainedModel("tools", """"
            TEMPLATE """{{- if .Tools }}Tools: {{ .Tools }}
            {{ end }}{{- range .Messages }}{{ .Role }}: {{ .Content }}{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ end }}
            {{ end }}assistant: """
            """");
        var greedy = TestServer.GreedyThePackage;

        var output = await RunNodeAsync(ClientScript("generate-clients.mjs"), server.Address.ToString().TrimEnd('/'));

        using var document = JsonDocument.Parse(output);
        var r = document.RootElement;
        var generate = r.GetProperty("generate");
        Assert.Equal(greedy, generate.GetProperty("response").GetString());
        Assert.Equal("length", generate.GetProperty("done_reason").GetString());
        Assert.Equal(16, generate.GetProperty("eval_count").GetInt32());
        Assert.True(generate.GetProperty("context").GetInt32() > 3);
        Assert.Equal(greedy, r.GetProperty("generateStream").GetProperty("response").GetString());
        Assert.True(r.GetProperty("generateStream").GetProperty("done").GetBoolean());
        Assert.Equal(greedy, r.GetProperty("chatStream").GetString());

        var call = Assert.Single(r.GetProperty("toolCalls").EnumerateArray()).GetProperty("function");
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        Assert.Equal("Paris", call.GetProperty("arguments").GetProperty("city").GetString());

        var chat = r.GetProperty("openaiChat");
        Assert.Equal(greedy, chat.GetProperty("content").GetString());
        Assert.Equal("length", chat.GetProperty("finish_reason").GetString());
        Assert.Equal("chat.completion", chat.GetProperty("object").GetString());
        Assert.Equal(16, chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var chatStream = r.GetProperty("openaiChatStream");
        Assert.Equal(greedy, chatStream.GetProperty("content").GetString());
        Assert.Equal("length", chatStream.GetProperty("finish_reason").GetString());
        Assert.Equal(16, chatStream.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var completion = r.GetProperty("openaiCompletion");
        Assert.Equal(greedy, completion.GetProperty("text").GetString());
        Assert.Equal("text_completion", completion.GetProperty("object").GetString());
        // The stop string ends the text before it.
        Assert.Equal(greedy[..greedy.IndexOf("dpkg", StringComparison.Ordinal)], r.GetProperty("openaiCompletionStream").GetString());

        var missing = r.GetProperty("missing");
        Assert.Equal(404, missing.GetProperty("status").GetInt32());
        Assert.Equal("model 'nope' not found", missing.GetProperty("error").GetString());
        var openAiMissing = r.GetProperty("openaiMissing");
        Assert.Equal(404, openAiMissing.GetProperty("status").GetInt32());
        Assert.Equal("not_found_error", openAiMissing.GetProperty("type").GetString());
    }

    /// <summary>The script (tests/clients/<paramref name="name"/>), inside a folder whose node_modules has the clients.</summary>
    internal static string ClientScript(string name = "store-clients.mjs")
    {
        var source = Path.Combine(RepositoryClientsFolder(), name);
        if (Environment.GetEnvironmentVariable("QUANTA_NODE_CLIENTS") is { Length: > 0 } elsewhere)
        {
            var copy = Path.Combine(elsewhere, name);
            File.Copy(source, copy, overwrite: true);
            source = copy;
        }
        var modules = Path.Combine(Path.GetDirectoryName(source)!, "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "ollama")) && Directory.Exists(Path.Combine(modules, "openai")),
            $"the npm clients are not installed in {modules}: run 'npm ci' in tests/clients (.ci/run does), or set QUANTA_NODE_CLIENTS to a folder where they are installed");
        return source;
    }

    /// <summary>tests/clients of the repository the test assembly was built from.</summary>
    static string RepositoryClientsFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "clients");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"no tests/clients folder above {AppContext.BaseDirectory}");
    }

    internal static async Task<string> RunNodeAsync(string script, params string[] args)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(script)!,
        };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
