using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Store;

/// <summary>
/// The config blob (Ollama's <c>ConfigV2</c>): what <c>list</c> and <c>show</c> read without opening the model.
/// Fields in Ollama's order; the optional ones are left out when empty, as Go's <c>omitempty</c> leaves them.
/// </summary>
public sealed record ModelConfig
{
    [JsonPropertyName("model_format")]
    public string ModelFormat { get; init; } = "gguf";

    /// <summary>The GGUF <c>general.architecture</c> of the model layer.</summary>
    [JsonPropertyName("model_family")]
    public string ModelFamily { get; init; } = "";

    [JsonPropertyName("model_families")]
    public IReadOnlyList<string>? ModelFamilies { get; init; }

    /// <summary>The parameter count as Ollama prints it ("8.0B", "494.03M"); shown as parameter size.</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "";

    /// <summary>The file type ("Q4_K_M", "F16"); shown as quantization level.</summary>
    [JsonPropertyName("file_type")]
    public string FileType { get; init; } = "";

    [JsonPropertyName("renderer")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Renderer { get; init; }

    [JsonPropertyName("parser")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Parser { get; init; }

    [JsonPropertyName("requires")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Requires { get; init; }

    [JsonPropertyName("context_length")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long ContextLength { get; init; }

    [JsonPropertyName("embedding_length")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long EmbeddingLength { get; init; }

    /// <summary>
    /// Required by the image spec. Ollama's CreateHandler writes "amd64" and "linux" whatever the machine
    /// (server/create.go), so the same model gives the same config blob on every machine; so does Quanta.
    /// </summary>
    [JsonPropertyName("architecture")]
    public string Architecture { get; init; } = "amd64";

    [JsonPropertyName("os")]
    public string OS { get; init; } = "linux";

    public byte[] ToJson() => StoreJson.Serialize(this);

    /// <exception cref="StoreException">Not a config.</exception>
    public static ModelConfig FromJson(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelConfig>(json, StoreJson.Compact)
                ?? throw new StoreException($"{where}: the config blob is empty");
        }
        catch (JsonException e)
        {
            throw new StoreException($"{where}: the config blob is not valid JSON: {e.Message}", e);
        }
    }
}
