using System.Text.Json;
using Quanta.Server.Ollama;
using Quanta.Server.OpenAi;

namespace Quanta.Tests.Server;

/// <summary>
/// The generation routes' request and answer types, ready for the chat engine: they read the bodies of Ollama's own
/// tests (middleware/openai_test.go TestChatMiddleware; the api docs' chat example) with every field where Ollama
/// finds it, and write Ollama's field names.
/// </summary>
public sealed class RequestTypesTests
{
    [Fact]
    public void An_OpenAI_chat_request_with_options_reads_every_field()
    {
        const string body = """
            {
                "model": "test-model",
                "messages": [
                    {"role": "user", "content": "Hello"}
                ],
                "stream":            true,
                "stream_options":    {"include_usage": true},
                "max_tokens":        999,
                "seed":              123,
                "stop":              ["\n", "stop"],
                "temperature":       3.0,
                "frequency_penalty": 4.0,
                "presence_penalty":  5.0,
                "top_p":             6.0,
                "response_format":   {"type": "json_object"}
            }
            """;

        var request = JsonSerializer.Deserialize(body, OpenAiJson.Default.ChatCompletionRequest)!;

        Assert.Equal("test-model", request.Model);
        var message = Assert.Single(request.Messages!);
        Assert.Equal("user", message.Role);
        Assert.Equal("Hello", message.Content!.Value.GetString());
        Assert.True(request.Stream);
        Assert.True(request.StreamOptions!.IncludeUsage);
        Assert.Equal(999, request.MaxTokens);
        Assert.Equal(123, request.Seed);
        Assert.Equal(["\n", "stop"], request.Stop!.Value.EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(3.0, request.Temperature);
        Assert.Equal(4.0, request.FrequencyPenalty);
        Assert.Equal(5.0, request.PresencePenalty);
        Assert.Equal(6.0, request.TopP);
        Assert.Equal("json_object", request.ResponseFormat!.Value.GetProperty("type").GetString());
    }

    [Fact]
    public void An_OpenAI_assistant_tool_call_keeps_its_arguments_text()
    {
        const string body = """
            {
                "model": "test-model",
                "messages": [
                    {"role": "user", "content": "What's the weather like in Paris Today?"},
                    {"role": "assistant", "tool_calls": [{"id": "id", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris, France\", \"format\": \"celsius\"}"}}]}
                ]
            }
            """;

        var request = JsonSerializer.Deserialize(body, OpenAiJson.Default.ChatCompletionRequest)!;

        var call = Assert.Single(request.Messages![1].ToolCalls!);
        Assert.Equal("id", call.Id);
        Assert.Equal("function", call.Type);
        Assert.Equal("get_current_weather", call.Function.Name);
        using var arguments = JsonDocument.Parse(call.Function.Arguments);
        Assert.Equal("Paris, France", arguments.RootElement.GetProperty("location").GetString());
        Assert.False(request.Stream);
    }

    [Fact]
    public void An_Ollama_chat_request_with_tools_images_and_options_reads_every_field()
    {
        const string body = """
            {
              "model": "llama3.2",
              "messages": [
                {"role": "USER", "content": "what is in this image?", "images": ["aGVsbG8="]},
                {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "content": "11 degrees", "tool_name": "get_weather"}
              ],
              "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
              "format": {"type": "object"},
              "options": {"temperature": 0, "num_ctx": 4096, "stop": ["x"]},
              "keep_alive": "5m",
              "think": "low",
              "stream": false
            }
            """;

        var request = JsonSerializer.Deserialize(body, OllamaJson.Default.ChatRequest)!;

        Assert.Equal("llama3.2", request.Model);
        Assert.Equal("user", request.Messages![0].Role);
        Assert.Equal("hello"u8.ToArray(), request.Messages[0].Images![0]);
        var call = Assert.Single(request.Messages[1].ToolCalls!);
        Assert.Equal("get_weather", call.Function.Name);
        Assert.Equal("Paris", call.Function.Arguments.GetProperty("city").GetString());
        Assert.Equal("get_weather", request.Messages[2].ToolName);
        var tool = Assert.Single(request.Tools!);
        Assert.Equal("Get the weather", tool.Function.Description);
        Assert.Equal(["city"], tool.Function.Parameters.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("object", request.Format!.Value.GetProperty("type").GetString());
        Assert.Equal(4096, request.Options!["num_ctx"].GetInt32());
        Assert.Equal("5m", request.KeepAlive!.Value.GetString());
        Assert.Equal("low", request.Think!.Value.GetString());
        Assert.False(request.Stream);
    }

    [Fact]
    public void A_final_chat_chunk_has_Ollamas_fields_and_leaves_out_the_empty_ones()
    {
        var chunk = new ChatResponse
        {
            Model = "llama3.2",
            CreatedAt = new DateTimeOffset(2026, 12, 4, 22, 0, 0, TimeSpan.Zero),
            Message = new Message { Role = "assistant", Content = "" },
            Done = true,
            DoneReason = "stop",
            TotalDuration = 5_000_000_000,
            PromptEvalCount = 26,
            EvalCount = 290,
        };

        Assert.Equal(
            """{"model":"llama3.2","created_at":"2026-12-04T22:00:00+00:00","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5000000000,"prompt_eval_count":26,"eval_count":290}""",
            JsonSerializer.Serialize(chunk, OllamaJson.Default.ChatResponse));
    }
}
