using System.Text.Json.Serialization;

namespace Quanta.Server.Ollama;

/// <summary>
/// The Ollama API's JSON, generated at build time. Names match case-insensitively on reading, as Go's encoding/json
/// matches them; numbers are never read from strings (Go refuses that too).
/// </summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(ListResponse))]
[JsonSerializable(typeof(ProcessResponse))]
[JsonSerializable(typeof(ShowRequest))]
[JsonSerializable(typeof(CopyRequest))]
[JsonSerializable(typeof(DeleteRequest))]
[JsonSerializable(typeof(RegistryRequest))]
[JsonSerializable(typeof(ProgressResponse))]
[JsonSerializable(typeof(CreateRequest))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatResponse))]
[JsonSerializable(typeof(GenerateRequest))]
[JsonSerializable(typeof(GenerateResponse))]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(EmbedResponse))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResponse))]
internal sealed partial class OllamaJson : JsonSerializerContext;
