using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quanta.Store;

/// <summary>One layer (or the config) of a manifest: field names and order as Ollama's <c>Layer</c> has them.</summary>
public sealed record ManifestLayer
{
    [JsonPropertyName("mediaType")]
    public required string MediaType { get; init; }

    [JsonPropertyName("digest")]
    public required string Digest { get; init; }

    [JsonPropertyName("size")]
    public required long Size { get; init; }

    /// <summary>The parent model or source the layer came from; omitted when empty.</summary>
    [JsonPropertyName("from")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? From { get; init; }

    [JsonPropertyName("name")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }
}

/// <summary>An image manifest, schema 2, as Ollama writes it (manifest/manifest.go).</summary>
public sealed record Manifest
{
    [JsonPropertyName("schemaVersion")]
    public int SchemaVersion { get; init; } = 2;

    [JsonPropertyName("mediaType")]
    public string MediaType { get; init; } = MediaTypes.Manifest;

    [JsonPropertyName("config")]
    public required ManifestLayer Config { get; init; }

    [JsonPropertyName("layers")]
    public required IReadOnlyList<ManifestLayer> Layers { get; init; }

    /// <summary>Every blob the manifest needs: the config, then the layers.</summary>
    [JsonIgnore]
    public IEnumerable<ManifestLayer> Blobs => Layers.Prepend(Config);

    /// <summary>Sum of the config and layer sizes: what <c>list</c> shows as SIZE.</summary>
    [JsonIgnore]
    public long TotalSize => Config.Size + Layers.Sum(l => l.Size);

    public byte[] ToJson() => StoreJson.Serialize(this);

    /// <exception cref="StoreException">Not a manifest.</exception>
    public static Manifest FromJson(ReadOnlySpan<byte> json, string where)
    {
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(json, StoreJson.Compact);
        }
        catch (JsonException e)
        {
            throw new StoreException($"{where}: not a valid manifest: {e.Message}", e);
        }
        if (manifest is null || manifest.Config is null || manifest.Layers is null)
        {
            throw new StoreException($"{where}: not a valid manifest (config or layers missing)");
        }
        foreach (var layer in manifest.Blobs)
        {
            if (!Digests.IsValid(layer.Digest))
            {
                throw new StoreException($"{where}: invalid digest '{layer.Digest}'");
            }
        }
        return manifest;
    }
}
