using System.ClientModel;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OllamaSharp.Models;
using OpenAI;
using OpenAI.Chat;
using Sharp = OllamaSharp.Models.Chat;

namespace Quanta.Tests.Server;

/// <summary>
/// Generation through the .NET clients people use, unchanged: OllamaSharp (generate and chat, streamed and not, errors),
/// OpenAI's SDK (chat completions streamed and not, tools with a JSON-schema response format) and
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over it. The trained tiny model's greedy text is llama.cpp's.
/// </summary>
public sealed class GenerationClientTests
{
    const string ToolsTemplate = """"
        TEMPLATE """{{- if .Tools }}Tools: {{ .Tools }}
        {{ end }}{{- range .Messages }}{{ .Role }}: {{ .Content }}{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ end }}
        {{ end }}assistant: """
        """";

    /// <summary>A schema that makes the tiny model write a call of get_weather for Paris (it knows nothing of tools).</summary>
    const string CallSchema = """
        {"type": "object", "properties": {"name": {"enum": ["get_weather"]}, "arguments": {"type": "object", "properties": {"city": {"enum": ["Paris"]}}, "required": ["city"]}}, "required": ["name", "arguments"]}
        """;

    const string CityParameters = """{"type": "object", "properties": {"city": {"type": "string", "description": "the city"}}, "required": ["city"]}""";

    [Fact]
    public async Task OllamaSharp_generates_and_chats_streamed_and_not()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        using var ollama = new OllamaApiClient(server.Address);
        var greedy = new RequestOptions { Temperature = 0, NumPredict = 16 };

        var pieces = new List<string>();
        GenerateDoneResponseStream? done = null;
        await foreach (var chunk in ollama.GenerateAsync(new GenerateRequest { Model = "tiny", Prompt = "The package", Options = greedy }))
        {
            pieces.Add(chunk!.Response);
            done = chunk as GenerateDoneResponseStream ?? done;
        }
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(pieces));
        Assert.NotNull(done);
        Assert.Equal("length", done.DoneReason);
        Assert.Equal(16, done.EvalCount);

        var chat = new List<string>();
        await foreach (var chunk in ollama.ChatAsync(new Sharp.ChatRequest { Model = "tiny", Messages = [new Sharp.Message(Sharp.ChatRole.User, "The package")], Options = greedy }))
        {
            chat.Add(chunk!.Message.Content ?? "");
        }
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(chat));

        var whole = new List<Sharp.ChatResponseStream?>();
        await foreach (var chunk in ollama.ChatAsync(new Sharp.ChatRequest { Model = "tiny", Messages = [new Sharp.Message(Sharp.ChatRole.User, "The package")], Options = greedy, Stream = false }))
        {
            whole.Add(chunk);
        }
        var only = Assert.Single(whole);
        Assert.Equal(TestServer.GreedyThePackage, only!.Message.Content);
        Assert.True(only.Done);
    }

    [Fact]
    public async Task OllamaSharp_sees_a_missing_model_as_an_error()
    {
        await using var server = await TestServer.StartAsync();
        using var ollama = new OllamaApiClient(server.Address);
        // Tool calls are read the same way for every client; OpenAI's SDK and ollama-js check them
        // (each costs seconds: the tiny model fills the white space the JSON grammar allows).
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in ollama.GenerateAsync(new GenerateRequest { Model = "nope", Prompt = "x" }))
            {
            }
        });
    }

    [Fact]
    public async Task OpenAI_chat_completions_streamed_and_not_with_usage_and_tools()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        server.AddTrainedModel("tools", ToolsTemplate);
        var openai = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
        var chat = openai.GetChatClient("tiny");
        var greedy = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 16 };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("The package")], greedy);
        Assert.Equal(TestServer.GreedyThePackage, completion.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(16, completion.Usage.OutputTokenCount);
        Assert.Equal("tiny", completion.Model);

        var text = new List<string>();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("The package")], greedy))
        {
            text.AddRange(update.ContentUpdate.Select(p => p.Text));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(text));
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, finish);
        // The SDK asks for stream_options.include_usage.
        Assert.Equal(16, usage?.OutputTokenCount);

        var tools = new ChatCompletionOptions
        {
            Temperature = 0,
            MaxOutputTokenCount = 400,
            Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather of a city", BinaryData.FromString(CityParameters)) },
            ResponseFormat = OpenAI.Chat.ChatResponseFormat.CreateJsonSchemaFormat("call", BinaryData.FromString(CallSchema)),
        };
        ChatCompletion called = await openai.GetChatClient("tools").CompleteChatAsync([new UserChatMessage("Weather in Paris?")], tools);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, called.FinishReason);
        var call = Assert.Single(called.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("city").GetString());

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => openai.GetChatClient("nope").CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, missing.Status);
        Assert.Contains("model 'nope' not found", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Microsoft_Extensions_AI_IChatClient_over_the_OpenAI_client()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        var openai = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
        using var client = openai.GetChatClient("tiny").AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };

        var response = await client.GetResponseAsync("The package", options);
        Assert.Equal(TestServer.GreedyThePackage, response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(16, response.Usage?.OutputTokenCount);

        var streamed = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync("The package", options))
        {
            streamed.Add(update.Text);
        }
        Assert.Equal(TestServer.GreedyThePackage, string.Concat(streamed));

        var schema = JsonDocument.Parse("""{"type": "object", "properties": {"version": {"type": "integer"}, "name": {"enum": ["dpkg", "apt"]}}, "required": ["version", "name"]}""").RootElement;
        var json = await client.GetResponseAsync("The package", new ChatOptions
        {
            Temperature = 0,
            MaxOutputTokens = 200,
            ResponseFormat = Microsoft.Extensions.AI.ChatResponseFormat.ForJsonSchema(schema, "package"),
        });
        Assert.Contains(JsonDocument.Parse(json.Text).RootElement.GetProperty("name").GetString(), new[] { "dpkg", "apt" });
    }
}
