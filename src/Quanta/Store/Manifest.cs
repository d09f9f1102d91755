using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

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

    /// <summary>
    /// Every blob the manifest needs: the config, then the layers. An empty digest (Ollama writes one for the
    /// config of some models) names no blob and is left out, as Ollama's <c>RemoveLayers</c> leaves it out.
    /// </summary>
    [JsonIgnore]
    public IEnumerable<ManifestLayer> Blobs => Layers.Prepend(Config).Where(l => l.Digest.Length > 0);

    /// <summary>Sum of the config and layer sizes: what <c>list</c> shows as SIZE.</summary>
    [JsonIgnore]
    public long TotalSize => Config.Size + Layers.Sum(l => l.Size);

    public byte[] ToJson() => StoreJson.Serialize(this);

    /// <summary>
    /// Reads a manifest as Ollama's <c>ParseNamedManifest</c> accepts it (manifest/manifest.go): <c>"layers": null</c>
    /// (a Go nil slice) is no layers, an empty config digest is no config.
    /// </summary>
    /// <exception cref="StoreException">Not a manifest.</exception>
    public static Manifest FromJson(ReadOnlySpan<byte> json, string where)
    {
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(json, Lenient);
        }
        catch (JsonException e)
        {
            throw new StoreException($"{where}: not a valid manifest: {e.Message}", e);
        }
        if (manifest is null)
        {
            throw new StoreException($"{where}: not a valid manifest (null)");
        }
        manifest = manifest with
        {
            Config = ZeroFilled(manifest.Config),
            Layers = manifest.Layers is null ? [] : [.. manifest.Layers.Where(l => l is not null).Select(ZeroFilled)],
        };
        foreach (var layer in manifest.Blobs)
        {
            if (!Digests.IsValid(layer.Digest))
            {
                throw new StoreException($"{where}: invalid digest '{layer.Digest}'");
            }
        }
        return manifest;
    }

    /// <summary>A layer with Go's zero values where the JSON left fields out or null, as Go's decoder leaves them.</summary>
    static ManifestLayer ZeroFilled(ManifestLayer? layer) =>
        layer is null
            ? new ManifestLayer { MediaType = "", Digest = "", Size = 0 }
            : layer with { MediaType = layer.MediaType ?? "", Digest = layer.Digest ?? "" };

    /// <summary>Go's decoder requires no field: neither does this reading (C#'s <c>required</c> is for writers).</summary>
    static readonly JsonSerializerOptions Lenient = new(StoreJson.Compact)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    foreach (var property in info.Properties)
                    {
                        property.IsRequired = false;
                    }
                },
            },
        },
    };
}
