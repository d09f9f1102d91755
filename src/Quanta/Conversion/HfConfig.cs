using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quanta.Conversion;

/// <summary>
/// A checkpoint's <c>config.json</c> (the converter's <c>hparams</c>): typed look-ups whose errors name the
/// field, and <see cref="Find"/> for fields that different families spell differently.
/// </summary>
public sealed class HfConfig
{
    readonly JsonElement _root;

    HfConfig(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    public string Path { get; }

    /// <summary>The first entry of <c>architectures</c>, which picks the converter class.</summary>
    public string? Architecture =>
        _root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.String
            ? a[0].GetString()
            : null;

    public static HfConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: file not found (a Hugging Face checkpoint directory needs a config.json)", path);
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConversionException($"{path}: expected a JSON object");
            }
            return new HfConfig(path, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ConversionException($"{path}: not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Parses JSON text (tests).</summary>
    public static HfConfig Parse(string json, string path = "config.json")
    {
        using var document = JsonDocument.Parse(json);
        return new HfConfig(path, document.RootElement.Clone());
    }

    /// <summary>The value of <paramref name="key"/>; null when absent or JSON null (Python's <c>hparams.get</c>).</summary>
    public JsonElement? Get(string key) =>
        _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public bool Has(string key) => Get(key) is not null;

    /// <summary>
    /// The config with the fields of the nested object <paramref name="key"/> moved to the top, overriding
    /// fields of the same name (the converter's <c>{**hparams, **hparams["text_config"]}</c> for the text half
    /// of a multimodal model); the config itself when it has no such object.
    /// </summary>
    public HfConfig Lift(string key) => Object(key) is { } nested ? Merge(Path, this, nested) : this;

    /// <summary>
    /// Python's <c>{**a, **b, ...}</c>: the fields of every config in order, later ones winning; null entries
    /// are skipped. The result is named <paramref name="path"/> in error messages.
    /// </summary>
    public static HfConfig Merge(string path, params HfConfig?[] configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var merged = new JsonObject();
        foreach (var config in configs)
        {
            if (config is null)
            {
                continue;
            }
            foreach (var property in config._root.EnumerateObject())
            {
                merged[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }
        }
        using var document = JsonDocument.Parse(merged.ToJsonString());
        return new HfConfig(path, document.RootElement.Clone());
    }

    /// <summary>Loads <paramref name="path"/> when it exists, else null.</summary>
    public static HfConfig? LoadIfPresent(string path) => File.Exists(path) ? Load(path) : null;

    /// <summary>The first of <paramref name="keys"/> that is present (the converter's <c>find_hparam</c>).</summary>
    public string? Find(params string[] keys) => keys.FirstOrDefault(Has);

    public long? Integer(string key) => Get(key) is { } v ? AsInteger(key, v) : null;

    public long RequireInteger(params string[] keys) =>
        Find(keys) is { } key ? AsInteger(key, Get(key)!.Value) : throw Missing(keys);

    public double? Number(string key) => Get(key) is { } v ? AsNumber(key, v) : null;

    public double RequireNumber(params string[] keys) =>
        Find(keys) is { } key ? AsNumber(key, Get(key)!.Value) : throw Missing(keys);

    /// <summary>A nested object such as <c>rope_scaling</c>, or null.</summary>
    public HfConfig? Object(string key) =>
        Get(key) is { ValueKind: JsonValueKind.Object } v ? new HfConfig(Path + ":" + key, v) : null;

    public string? String(string key) => Get(key) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    /// <summary>An array of numbers (Phi-3's long/short rope factors), or null.</summary>
    public double[]? Numbers(string key) =>
        Get(key) is { ValueKind: JsonValueKind.Array } v ? [.. v.EnumerateArray().Select(e => AsNumber(key, e))] : null;

    long AsInteger(string key, JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n))
        {
            return n;
        }
        // Python writes integral floats such as 4096.0 in some configs; the converter passes them on as ints.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 1e18)
        {
            return (long)d;
        }
        throw new ConversionException($"{Path}: '{key}' is {v.GetRawText()}; expected an integer");
    }

    double AsNumber(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d)
            ? d
            : throw new ConversionException($"{Path}: '{key}' is {v.GetRawText()}; expected a number");

    ConversionException Missing(string[] keys) =>
        new($"{Path}: none of {string.Join(", ", keys.Select(k => "'" + k + "'"))} is set; the architecture needs it");

    public override string ToString() => _root.GetRawText().ToString(CultureInfo.InvariantCulture);
}
