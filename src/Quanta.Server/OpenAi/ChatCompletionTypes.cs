using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Server.OpenAi;

// /v1/chat/completions and /v1/completions, with OpenAI's field names as Ollama's openai package reads and writes
// them (openai/openai.go). Values OpenAI lets take several shapes (content as a string or parts, stop as a string or
// a list, tool_choice, response_format's schema) are kept as JSON for the chat engine to read.

public sealed record ChatCompletionMessage
{
    [JsonPropertyName("role")]
    public string Role { get; init; } = "";

    /// <summary>A string, or a list of parts (<c>{"type": "text", "text"}</c>, <c>{"type": "image_url", "image_url": {"url"}}</c>).</summary>
    [JsonPropertyName("content")]
    public JsonElement? Content { get; init; }

    [JsonPropertyName("reasoning")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reasoning { get; init; }

    [JsonPropertyName("tool_calls")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChatCompletionToolCall>? ToolCalls { get; init; }

    [JsonPropertyName("name")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonPropertyName("tool_call_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ToolCallId { get; init; }
}

public sealed record ChatCompletionToolCall
{
    [JsonPropertyName("id")]
    public string Id { get; init; } = "";

    /// <summary>Set in streamed deltas, where calls arrive in pieces.</summary>
    [JsonPropertyName("index")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Index { get; init; }

    [JsonPropertyName("type")]
    public string Type { get; init; } = "function";

    [JsonPropertyName("function")]
    public required ChatCompletionFunctionCall Function { get; init; }
}

public sealed record ChatCompletionFunctionCall
{
    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    /// <summary>The arguments as a JSON text (OpenAI sends a string, not an object).</summary>
    [JsonPropertyName("arguments")]
    public string Arguments { get; init; } = "";
}

public sealed record StreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool IncludeUsage { get; init; }
}

public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("messages")]
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }

    [JsonPropertyName("stream")]
    public bool Stream { get; init; }

    [JsonPropertyName("stream_options")]
    public StreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("seed")]
    public int? Seed { get; init; }

    /// <summary>A string or a list of strings.</summary>
    [JsonPropertyName("stop")]
    public JsonElement? Stop { get; init; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; init; }

    [JsonPropertyName("top_p")]
    public double? TopP { get; init; }

    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get; init; }

    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get; init; }

    /// <summary><c>{"type": "text" | "json_object" | "json_schema", "json_schema": {"name", "schema", "strict"}}</c>.</summary>
    [JsonPropertyName("response_format")]
    public JsonElement? ResponseFormat { get; init; }

    /// <summary>Ollama's tool shape (<see cref="Ollama.Tool"/>) is OpenAI's.</summary>
    [JsonPropertyName("tools")]
    public IReadOnlyList<Ollama.Tool>? Tools { get; init; }

    [JsonPropertyName("tool_choice")]
    public JsonElement? ToolChoice { get; init; }

    [JsonPropertyName("reasoning_effort")]
    public string? ReasoningEffort { get; init; }
}

public sealed record Usage
{
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; init; }

    [JsonPropertyName("completion_tokens")]
    public int CompletionTokens { get; init; }

    [JsonPropertyName("total_tokens")]
    public int TotalTokens { get; init; }
}

public sealed record ChatCompletionChoice
{
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary>The whole answer (non-streamed).</summary>
    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ChatCompletionMessage? Message { get; init; }

    /// <summary>A piece of it (streamed chunks; an empty object in the last one).</summary>
    [JsonPropertyName("delta")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ChatCompletionMessage? Delta { get; init; }

    /// <summary><c>stop</c>, <c>length</c> or <c>tool_calls</c>; null until the last chunk.</summary>
    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; init; }
}

/// <summary>A chat completion (<c>object</c> = <c>chat.completion</c>) or a streamed chunk of one (<c>chat.completion.chunk</c>).</summary>
public sealed record ChatCompletion
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public required string Object { get; init; }

    [JsonPropertyName("created")]
    public long Created { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("system_fingerprint")]
    public string SystemFingerprint { get; init; } = "fp_quanta";

    [JsonPropertyName("choices")]
    public required IReadOnlyList<ChatCompletionChoice> Choices { get; init; }

    /// <summary>Non-streamed answers, and the extra last chunk when <c>stream_options.include_usage</c> asks for it.</summary>
    [JsonPropertyName("usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Usage? Usage { get; init; }
}

/// <summary><c>/v1/completions</c>: a prompt in, text out.</summary>
public sealed record CompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("suffix")]
    public string? Suffix { get; init; }

    [JsonPropertyName("stream")]
    public bool Stream { get; init; }

    [JsonPropertyName("stream_options")]
    public StreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("seed")]
    public int? Seed { get; init; }

    [JsonPropertyName("stop")]
    public JsonElement? Stop { get; init; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; init; }

    [JsonPropertyName("top_p")]
    public double? TopP { get; init; }

    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get; init; }

    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get; init; }
}

public sealed record CompletionChoice
{
    [JsonPropertyName("text")]
    public string Text { get; init; } = "";

    [JsonPropertyName("index")]
    public int Index { get; init; }

    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; init; }
}

/// <summary>A completion (<c>object</c> = <c>text_completion</c>), streamed or not.</summary>
public sealed record Completion
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object { get; init; } = "text_completion";

    [JsonPropertyName("created")]
    public long Created { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("system_fingerprint")]
    public string SystemFingerprint { get; init; } = "fp_quanta";

    [JsonPropertyName("choices")]
    public required IReadOnlyList<CompletionChoice> Choices { get; init; }

    [JsonPropertyName("usage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Usage? Usage { get; init; }
}

/// <summary><c>/v1/embeddings</c>: <c>input</c> is a string, a list of strings, or token ids.</summary>
public sealed record EmbeddingsRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("input")]
    public JsonElement? Input { get; init; }

    [JsonPropertyName("dimensions")]
    public int? Dimensions { get; init; }

    /// <summary><c>float</c> (the default) or <c>base64</c>.</summary>
    [JsonPropertyName("encoding_format")]
    public string? EncodingFormat { get; init; }
}

public sealed record EmbeddingItem
{
    [JsonPropertyName("object")]
    public string Object { get; init; } = "embedding";

    /// <summary>A list of floats, or their little-endian bytes in base64 for <c>encoding_format: base64</c>.</summary>
    [JsonPropertyName("embedding")]
    public JsonElement Embedding { get; init; }

    [JsonPropertyName("index")]
    public int Index { get; init; }
}

public sealed record EmbeddingUsage
{
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; init; }

    [JsonPropertyName("total_tokens")]
    public int TotalTokens { get; init; }
}

public sealed record EmbeddingList
{
    [JsonPropertyName("object")]
    public string Object { get; init; } = "list";

    [JsonPropertyName("data")]
    public required IReadOnlyList<EmbeddingItem> Data { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("usage")]
    public EmbeddingUsage Usage { get; init; } = new();
}
