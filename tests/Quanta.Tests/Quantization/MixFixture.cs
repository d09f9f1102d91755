using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

/// <summary>
/// A golden mix from Fixtures/mixes: a model's tensors and, per preset, the type llama-quantize gave each
/// tensor (in the order llama.cpp visited them).
/// </summary>
sealed class MixFixture
{
    static readonly Dictionary<string, MixFixture> Cache = [];
    static readonly Lock CacheLock = new();

    public required string Model { get; init; }

    public required IReadOnlyList<GgufTensorInfo> Tensors { get; init; }

    /// <summary>Preset name → (tensor name, golden type name) in file order.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<KeyValuePair<string, string>>> Presets { get; init; }

    public static readonly string[] Models = ["llama32", "tied12", "odd6"];

    public static MixFixture Load(string model)
    {
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(model, out var fixture))
            {
                fixture = Read(model);
                Cache[model] = fixture;
            }
            return fixture;
        }
    }

    /// <summary>
    /// The fixtures carry no metadata, so the hyperparameters come from the shapes: 2 key/value heads, and as
    /// many query heads per key/value head as attn_q has rows per attn_k row (llama32: 8/2, tied12: 2/2,
    /// odd6: 6/2).
    /// </summary>
    public ModelHyperparameters Hyperparameters()
    {
        var layers = Tensors.Max(t => TensorOrder.LayerOf(t.Name)) + 1;
        var q = Tensors.First(t => t.Name == "blk.0.attn_q.weight");
        var k = Tensors.First(t => t.Name == "blk.0.attn_k.weight");
        const int kvHeads = 2;
        var heads = kvHeads * (int)(q.Shape[1] / k.Shape[1]);
        return ModelHyperparameters.Uniform("llama", layers, heads, kvHeads);
    }

    static MixFixture Read(string model)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "mixes", model + ".json");
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = json.RootElement;
        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t =>
        {
            var typeName = t.GetProperty("type").GetString()!;
            Assert.True(GgmlTypeInfo.TryParse(typeName, out var type), $"unknown type {typeName}");
            var shape = t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            return new GgufTensorInfo(t.GetProperty("name").GetString()!, shape, type.Type);
        }).ToArray();
        var presets = new Dictionary<string, IReadOnlyList<KeyValuePair<string, string>>>();
        foreach (var preset in root.GetProperty("presets").EnumerateObject())
        {
            presets[preset.Name] = preset.Value.EnumerateObject()
                .Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString()!))
                .ToArray();
        }
        return new MixFixture { Model = model, Tensors = tensors, Presets = presets };
    }
}
