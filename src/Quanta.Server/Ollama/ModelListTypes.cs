using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

// /api/tags and /api/ps, as Ollama's api/types.go names and types them.

/// <summary>Ollama's <c>ModelDetails</c>.</summary>
public sealed record ModelDetails
{
    [JsonPropertyName("parent_model")]
    public string ParentModel { get; init; } = "";

    [JsonPropertyName("format")]
    public string Format { get; init; } = "";

    [JsonPropertyName("family")]
    public string Family { get; init; } = "";

    /// <summary>Null when the config names none (Go's nil slice).</summary>
    [JsonPropertyName("families")]
    public IReadOnlyList<string>? Families { get; init; }

    [JsonPropertyName("parameter_size")]
    public string ParameterSize { get; init; } = "";

    [JsonPropertyName("quantization_level")]
    public string QuantizationLevel { get; init; } = "";

    [JsonPropertyName("context_length")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long ContextLength { get; init; }

    [JsonPropertyName("embedding_length")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long EmbeddingLength { get; init; }
}

/// <summary>Ollama's <c>ListModelResponse</c>: one model of <c>/api/tags</c>.</summary>
public sealed record ListModelResponse
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("modified_at")]
    public DateTimeOffset ModifiedAt { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    /// <summary>The manifest's SHA-256 in hex, without the <c>sha256:</c> prefix.</summary>
    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("details")]
    public required ModelDetails Details { get; init; }

    [JsonPropertyName("capabilities")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Capabilities { get; init; }
}

public sealed record ListResponse
{
    [JsonPropertyName("models")]
    public required IReadOnlyList<ListModelResponse> Models { get; init; }
}

/// <summary>Ollama's <c>ProcessModelResponse</c>: one loaded model of <c>/api/ps</c>.</summary>
public sealed record ProcessModelResponse
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("size")]
    public long Size { get; init; }

    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("details")]
    public required ModelDetails Details { get; init; }

    [JsonPropertyName("expires_at")]
    public DateTimeOffset ExpiresAt { get; init; }

    [JsonPropertyName("size_vram")]
    public long SizeVram { get; init; }

    [JsonPropertyName("context_length")]
    public int ContextLength { get; init; }
}

public sealed record ProcessResponse
{
    [JsonPropertyName("models")]
    public required IReadOnlyList<ProcessModelResponse> Models { get; init; }
}
