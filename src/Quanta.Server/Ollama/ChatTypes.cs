using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

// /api/chat, as Ollama's api/types.go names and types it. Values Go keeps loosely typed (options, format,
// keep_alive, think, tool parameters and arguments) are kept as JSON here; the chat engine reads them.

/// <summary>A chat message; images are base64 in JSON (Go's []byte).</summary>
public sealed record Message
{
    /// <summary>Lower-cased as it is read, as Ollama's Message.UnmarshalJSON does.</summary>
    [JsonPropertyName("role")]
    public string Role
    {
        get => _role;
        init => _role = value.ToLowerInvariant();
    }

    readonly string _role = "";

    [JsonPropertyName("content")]
    public string Content { get; init; } = "";

    [JsonPropertyName("thinking")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Thinking { get; init; }

    [JsonPropertyName("images")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<byte[]>? Images { get; init; }

    [JsonPropertyName("tool_calls")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    [JsonPropertyName("tool_name")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToolName { get; init; }

    [JsonPropertyName("tool_call_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToolCallId { get; init; }
}

public sealed record ToolCall
{
    [JsonPropertyName("id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Id { get; init; }

    [JsonPropertyName("function")]
    public required ToolCallFunction Function { get; init; }
}

public sealed record ToolCallFunction
{
    [JsonPropertyName("index")]
    public int Index { get; init; }

    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>A JSON object, in the order the model wrote it.</summary>
    [JsonPropertyName("arguments")]
    public JsonElement Arguments { get; init; }
}

/// <summary>A tool the model may call: <c>{"type": "function", "function": {name, description, parameters}}</c>.</summary>
public sealed record Tool
{
    [JsonPropertyName("type")]
    public string Type { get; init; } = "function";

    [JsonPropertyName("items")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Items { get; init; }

    [JsonPropertyName("function")]
    public required ToolFunction Function { get; init; }
}

public sealed record ToolFunction
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>A JSON schema object (type, properties, required, $defs, items).</summary>
    [JsonPropertyName("parameters")]
    public JsonElement Parameters { get; init; }
}

public sealed record ChatRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("messages")]
    public IReadOnlyList<Message>? Messages { get; init; }

    /// <summary>Absent means streamed.</summary>
    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    /// <summary><c>"json"</c> or a JSON schema.</summary>
    [JsonPropertyName("format")]
    public JsonElement? Format { get; init; }

    /// <summary>Seconds as a number, or a Go duration string (<c>"5m"</c>); 0 unloads after the answer, negative keeps forever.</summary>
    [JsonPropertyName("keep_alive")]
    public JsonElement? KeepAlive { get; init; }

    [JsonPropertyName("tools")]
    public IReadOnlyList<Tool>? Tools { get; init; }

    [JsonPropertyName("options")]
    public Dictionary<string, JsonElement>? Options { get; init; }

    /// <summary><c>true</c>/<c>false</c>, or <c>"high"</c>, <c>"medium"</c>, <c>"low"</c>.</summary>
    [JsonPropertyName("think")]
    public JsonElement? Think { get; init; }

    [JsonPropertyName("truncate")]
    public bool? Truncate { get; init; }

    [JsonPropertyName("shift")]
    public bool? Shift { get; init; }

    [JsonPropertyName("logprobs")]
    public bool Logprobs { get; init; }

    [JsonPropertyName("top_logprobs")]
    public int TopLogprobs { get; init; }
}

/// <summary>A chunk of <c>/api/chat</c>; the last has <c>done</c>, <c>done_reason</c> and the durations in nanoseconds.</summary>
public sealed record ChatResponse
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("created_at")]
    public DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("message")]
    public required Message Message { get; init; }

    [JsonPropertyName("done")]
    public bool Done { get; init; }

    [JsonPropertyName("done_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DoneReason { get; init; }

    [JsonPropertyName("total_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long TotalDuration { get; init; }

    [JsonPropertyName("load_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long LoadDuration { get; init; }

    [JsonPropertyName("prompt_eval_count")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int PromptEvalCount { get; init; }

    [JsonPropertyName("prompt_eval_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long PromptEvalDuration { get; init; }

    [JsonPropertyName("eval_count")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int EvalCount { get; init; }

    [JsonPropertyName("eval_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long EvalDuration { get; init; }
}
