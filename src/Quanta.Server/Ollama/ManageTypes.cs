using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

// Requests and answers of the store endpoints, as Ollama's api/types.go names and types them. Deprecated "name"
// fields are still read: older clients send them.

public sealed record VersionResponse
{
    [JsonPropertyName("version")]
    public required string Version { get; init; }
}

public sealed record ShowRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    /// <summary>Replaces the system message shown (Ollama's ShowRequest.System).</summary>
    [JsonPropertyName("system")]
    public string? System { get; init; }

    /// <summary>Long arrays of model_info in full, instead of null.</summary>
    [JsonPropertyName("verbose")]
    public bool Verbose { get; init; }

    [JsonPropertyName("options")]
    public Dictionary<string, JsonElement>? Options { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }
}

public sealed record CopyRequest
{
    [JsonPropertyName("source")]
    public string? Source { get; init; }

    [JsonPropertyName("destination")]
    public string? Destination { get; init; }
}

public sealed record DeleteRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }
}

/// <summary><c>/api/pull</c> and <c>/api/push</c> (both answered with an error: Quanta reaches no registry).</summary>
public sealed record RegistryRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }
}

/// <summary>Ollama's <c>ProgressResponse</c>: a status line of create, pull or push.</summary>
public sealed record ProgressResponse
{
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("digest")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }

    [JsonPropertyName("total")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Total { get; init; }

    [JsonPropertyName("completed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Completed { get; init; }
}

/// <summary>Ollama's <c>CreateRequest</c>.</summary>
public sealed record CreateRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    [JsonPropertyName("quantize")]
    public string? Quantize { get; init; }

    /// <summary>A model in the store to build on.</summary>
    [JsonPropertyName("from")]
    public string? From { get; init; }

    /// <summary>Relative file name → digest of a blob uploaded with <c>POST /api/blobs/:digest</c>.</summary>
    [JsonPropertyName("files")]
    public Dictionary<string, string>? Files { get; init; }

    [JsonPropertyName("adapters")]
    public Dictionary<string, string>? Adapters { get; init; }

    [JsonPropertyName("template")]
    public string? Template { get; init; }

    /// <summary>A string or a list of strings.</summary>
    [JsonPropertyName("license")]
    public JsonElement? License { get; init; }

    [JsonPropertyName("system")]
    public string? System { get; init; }

    [JsonPropertyName("parameters")]
    public Dictionary<string, JsonElement>? Parameters { get; init; }

    [JsonPropertyName("messages")]
    public IReadOnlyList<Message>? Messages { get; init; }

    [JsonPropertyName("renderer")]
    public string? Renderer { get; init; }

    [JsonPropertyName("parser")]
    public string? Parser { get; init; }

    [JsonPropertyName("requires")]
    public string? Requires { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>Deprecated spelling of <see cref="Quantize"/>.</summary>
    [JsonPropertyName("quantization")]
    public string? Quantization { get; init; }
}
