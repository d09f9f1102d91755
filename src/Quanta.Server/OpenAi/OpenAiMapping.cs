using System.Text.Json;
using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Server.Generation;
using Quanta.Server.Http;
using Quanta.Templates.Ollama;

namespace Quanta.Server.OpenAi;

/// <summary>
/// OpenAI's requests as Ollama's compatibility layer maps them onto its own (openai/openai.go, <c>fromChatRequest</c>,
/// <c>fromCompleteRequest</c>): <c>stop</c> (a string or a list), <c>max_completion_tokens</c> or <c>max_tokens</c> →
/// <c>num_predict</c>, <c>temperature</c> and <c>top_p</c> (1.0 when absent, OpenAI's defaults), <c>seed</c>, the
/// penalties; <c>response_format</c> json_object → <c>"json"</c>, json_schema → its schema; content parts (text and
/// base64 data-URL images); the answer's finish reasons and ids.
/// </summary>
internal static class OpenAiMapping
{
    public static List<KeyValuePair<string, JsonNode?>> Options(
        JsonElement? stop, int? maxTokens, double? temperature, double? topP, int? seed, double? frequencyPenalty, double? presencePenalty)
    {
        var options = new List<KeyValuePair<string, JsonNode?>>();
        void Add(string name, JsonNode? value) => options.Add(new(name, value));
        if (stop is { } s)
        {
            switch (s.ValueKind)
            {
                case JsonValueKind.String:
                    Add("stop", new JsonArray(JsonValue.Create(s.GetString())));
                    break;
                case JsonValueKind.Array:
                    Add("stop", new JsonArray([.. s.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => (JsonNode?)JsonValue.Create(x.GetString()))]));
                    break;
            }
        }
        if (maxTokens is { } max)
        {
            Add("num_predict", JsonValue.Create(max));
        }
        Add("temperature", JsonValue.Create(temperature ?? 1.0));
        if (seed is { } seedValue)
        {
            Add("seed", JsonValue.Create(seedValue));
        }
        if (frequencyPenalty is { } frequency)
        {
            Add("frequency_penalty", JsonValue.Create(frequency));
        }
        if (presencePenalty is { } presence)
        {
            Add("presence_penalty", JsonValue.Create(presence));
        }
        Add("top_p", JsonValue.Create(topP ?? 1.0));
        return options;
    }

    /// <summary><c>response_format</c> as Ollama's <c>format</c>: <c>"json"</c>, a schema, or null.</summary>
    public static string? Format(JsonElement? responseFormat)
    {
        if (responseFormat is not { ValueKind: JsonValueKind.Object } format || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        return type.GetString()!.Trim().ToLowerInvariant() switch
        {
            "json_object" => "\"json\"",
            "json_schema" when format.TryGetProperty("json_schema", out var jsonSchema) && jsonSchema.ValueKind == JsonValueKind.Object
                && jsonSchema.TryGetProperty("schema", out var schema) => schema.GetRawText(),
            _ => null,
        };
    }

    /// <summary>The conversation as the template sees it.</summary>
    /// <exception cref="ApiException">400: a content part or image the server cannot read.</exception>
    public static List<PromptMessage> Messages(IEnumerable<ChatCompletionMessage> messages)
    {
        var list = new List<PromptMessage>();
        foreach (var m in messages)
        {
            var (text, images) = Content(m.Content);
            list.Add(new PromptMessage(m.Role.ToLowerInvariant(), text)
            {
                Thinking = m.Reasoning ?? "",
                Images = images,
                ToolCallID = m.ToolCallId ?? "",
                ToolName = m.Role == "tool" ? m.Name ?? "" : "",
                ToolCalls = m.ToolCalls is null ? [] : [.. m.ToolCalls.Select((c, i) => RequestMapping.ToolCall(c.Id, i, c.Function.Name, Arguments(c.Function.Arguments)))],
            });
        }
        return list;
    }

    static JsonElement Arguments(string text)
    {
        try
        {
            return string.IsNullOrWhiteSpace(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"invalid tool call arguments: {e.Message}", e);
        }
    }

    static (string Text, List<byte[]> Images) Content(JsonElement? content)
    {
        var images = new List<byte[]>();
        if (content is not { } c || c.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return ("", images);
        }
        if (c.ValueKind == JsonValueKind.String)
        {
            return (c.GetString()!, images);
        }
        if (c.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.BadRequest("invalid message content: a string or a list of parts");
        }
        var text = new List<string>();
        foreach (var part in c.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) ? t.GetString() : null;
            switch (type)
            {
                case "text" when part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String:
                    text.Add(value.GetString()!);
                    break;
                case "image_url":
                    images.Add(Image(part));
                    break;
                default:
                    throw ApiException.BadRequest($"invalid message content part: {part.GetRawText()}");
            }
        }
        return (string.Join("\n", text), images);
    }

    static byte[] Image(JsonElement part)
    {
        var url = part.TryGetProperty("image_url", out var imageUrl)
            ? imageUrl.ValueKind == JsonValueKind.String ? imageUrl.GetString() : imageUrl.TryGetProperty("url", out var u) ? u.GetString() : null
            : null;
        var comma = url?.IndexOf(";base64,", StringComparison.Ordinal) ?? -1;
        if (url is null || !url.StartsWith("data:", StringComparison.Ordinal) || comma < 0)
        {
            throw ApiException.BadRequest("invalid image input: only base64 data URLs are accepted");
        }
        try
        {
            return Convert.FromBase64String(url[(comma + ";base64,".Length)..]);
        }
        catch (FormatException e)
        {
            throw ApiException.BadRequest("invalid image input: not base64", e);
        }
    }

    /// <summary>OpenAI's finish reason: <c>tool_calls</c> when the answer called tools, else <c>length</c> or <c>stop</c>.</summary>
    public static string FinishReason(ChatResult result, bool calledTools) =>
        calledTools ? "tool_calls" : result.DoneReason == DoneReasons.Length ? "length" : "stop";

    public static Usage Usage(ChatResult result) => new()
    {
        PromptTokens = result.Statistics.PromptEvalCount,
        CompletionTokens = result.Statistics.EvalCount,
        TotalTokens = result.Statistics.PromptEvalCount + result.Statistics.EvalCount,
    };

    /// <summary>A JSON string value.</summary>
    public static JsonElement Text(string text) => JsonDocument.Parse(ApiJson.Write(w => w.WriteStringValue(text))).RootElement.Clone();

    public static ChatCompletionToolCall ToOpenAi(ParsedToolCall call, bool streamed) => new()
    {
        Id = RequestMapping.ToOllama(call).Id!,
        Index = streamed ? call.Index : null,
        Function = new ChatCompletionFunctionCall { Name = call.Name, Arguments = call.Arguments.ToJsonString() },
    };

    /// <summary>An id as Ollama makes one: the prefix and a random number.</summary>
    public static string Id(string prefix) => $"{prefix}-{Random.Shared.Next(1000)}";
}
