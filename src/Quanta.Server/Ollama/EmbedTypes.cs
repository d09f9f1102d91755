using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

/// <summary>Ollama's <c>EmbedRequest</c> (<c>/api/embed</c>): <c>input</c> is a string or a list of strings.</summary>
public sealed record EmbedRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("input")]
    public JsonElement? Input { get; init; }

    [JsonPropertyName("keep_alive")]
    public JsonElement? KeepAlive { get; init; }

    /// <summary>Absent means true: an input longer than the context is cut, not refused.</summary>
    [JsonPropertyName("truncate")]
    public bool? Truncate { get; init; }

    [JsonPropertyName("dimensions")]
    public int Dimensions { get; init; }

    [JsonPropertyName("options")]
    public Dictionary<string, JsonElement>? Options { get; init; }
}

public sealed record EmbedResponse
{
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("embeddings")]
    public required IReadOnlyList<float[]> Embeddings { get; init; }

    [JsonPropertyName("total_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long TotalDuration { get; init; }

    [JsonPropertyName("load_duration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long LoadDuration { get; init; }

    [JsonPropertyName("prompt_eval_count")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int PromptEvalCount { get; init; }
}

/// <summary>The legacy <c>/api/embeddings</c> request: one prompt.</summary>
public sealed record EmbeddingRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("prompt")]
    public string? Prompt { get; init; }

    [JsonPropertyName("keep_alive")]
    public JsonElement? KeepAlive { get; init; }

    [JsonPropertyName("options")]
    public Dictionary<string, JsonElement>? Options { get; init; }
}

/// <summary>The legacy answer: one vector of float64, not normalised (Ollama's EmbeddingResponse).</summary>
public sealed record EmbeddingResponse
{
    [JsonPropertyName("embedding")]
    public required IReadOnlyList<double> Embedding { get; init; }
}
