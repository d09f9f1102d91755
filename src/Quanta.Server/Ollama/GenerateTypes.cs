using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

/// <summary>Ollama's <c>GenerateRequest</c> (<c>/api/generate</c>).</summary>
public sealed record GenerateRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("suffix")]
    public string? Suffix { get; init; }

    [JsonPropertyName("system")]
    public string? System { get; init; }

    [JsonPropertyName("template")]
    public string? Template { get; init; }

    /// <summary>The token ids a previous answer returned, to continue from.</summary>
    [JsonPropertyName("context")]
    public IReadOnlyList<int>? Context { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    [JsonPropertyName("raw")]
    public bool Raw { get; init; }

    [JsonPropertyName("format")]
    public JsonElement? Format { get; init; }

    [JsonPropertyName("keep_alive")]
    public JsonElement? KeepAlive { get; init; }

    [JsonPropertyName("images")]
    public IReadOnlyList<byte[]>? Images { get; init; }

    [JsonPropertyName("options")]
    public Dictionary<string, JsonElement>? Options { get; init; }

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

/// <summary>A chunk of <c>/api/generate</c>; the last has <c>done</c>, <c>done_reason</c>, <c>context</c> and the durations.</summary>
public sealed record GenerateResponse
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("created_at")]
    public DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("response")]
    public string Response { get; init; } = "";

    [JsonPropertyName("thinking")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Thinking { get; init; }

    [JsonPropertyName("done")]
    public bool Done { get; init; }

    [JsonPropertyName("done_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DoneReason { get; init; }

    [JsonPropertyName("context")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? Context { get; init; }

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

    [JsonPropertyName("tool_calls")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
}
