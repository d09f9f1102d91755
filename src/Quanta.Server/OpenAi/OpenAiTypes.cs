using System.Text.Json.Serialization;

namespace Quanta.Server.OpenAi;

/// <summary>OpenAI's model object, as Ollama fills it (openai.ToModel): the name, its modification time, its namespace as owner.</summary>
public sealed record OpenAiModel
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object { get; init; } = "model";

    /// <summary>Unix seconds.</summary>
    [JsonPropertyName("created")]
    public long Created { get; init; }

    [JsonPropertyName("owned_by")]
    public required string OwnedBy { get; init; }
}

public sealed record OpenAiModelList
{
    [JsonPropertyName("object")]
    public string Object { get; init; } = "list";

    /// <summary>An empty list when the store is empty (Ollama sends null there, which OpenAI's SDKs do not expect).</summary>
    [JsonPropertyName("data")]
    public required IReadOnlyList<OpenAiModel> Data { get; init; }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(OpenAiModel))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(Completion))]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(EmbeddingList))]
internal sealed partial class OpenAiJson : JsonSerializerContext;
