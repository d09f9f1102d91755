using System.Security.Cryptography;
using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion;

/// <summary>
/// The four golden checkpoints converted with each of the converter's output types must give what
/// llama.cpp's convert_hf_to_gguf.py wrote: every tensor's name, type, shape, byte count and SHA-256, and
/// every metadata key's value and type (tokenizer keys included), in order.
/// </summary>
public sealed class GoldenConvertTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "quanta-golden-convert-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Splitmix_stream_matches_the_readme()
    {
        double[] expected = [0.6328823566436768, -0.965617299079895, -0.4626953601837158, 0.10916078090667725, 0.7200287580490112];
        for (var k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], TinyCheckpoint.X(101, (ulong)k + 1));
        }
        var llama = TinyCheckpoint.Generate("llama");
        Assert.Equal("model.embed_tokens.weight", llama[0].Spec.Name);
        Assert.Equal(0.01904296875f, BFloat16.ToFloat(llama[0].Values[0]));
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "llama", "mistral", "gemma", "phi3" })
        {
            foreach (var type in new[] { "f32", "f16", "bf16", "q8_0" })
            {
                data.Add(model, type);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conversion_matches_convert_hf_to_gguf(string model, string type)
    {
        // The folder is named like the golden one, so general.name and size_label come out the same too.
        var directory = Path.Combine(_root, model + "-" + type, model);
        TinyCheckpoint.Write(model, directory);
        var output = Path.Combine(_root, $"{model}-{type}.gguf");
        var result = CliRunner.Run("convert", directory, "--type", type, "-o", output, "--threads", "3");
        Assert.True(result.ExitCode == 0, result.Error);

        using var gguf = GgufFile.Open(output);
        var expected = ExpectedConversion.Load(Path.Combine(TinyCheckpoint.FixtureDirectory(model), $"expected.{type}.json"));
        ExpectedConversion.AssertMatches(expected, gguf, includeTokenizer: true);
    }
}

/// <summary>An expected.&lt;type&gt;.json of the golden convert data, and the comparison with a GGUF file.</summary>
internal sealed record ExpectedConversion(List<ExpectedConversion.Tensor> Tensors, List<KeyValuePair<string, JsonElement>> Keys)
{
    public sealed record Tensor(string Name, string Type, long[] Shape, string Sha256, long Bytes);

    public static ExpectedConversion Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t => new Tensor(
            t.GetProperty("name").GetString()!,
            t.GetProperty("type").GetString()!,
            [.. t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())],
            t.GetProperty("sha256").GetString()!,
            t.GetProperty("bytes").GetInt64())).ToList();
        var keys = root.GetProperty("kv").EnumerateObject().Select(p => new KeyValuePair<string, JsonElement>(p.Name, p.Value.Clone())).ToList();
        return new ExpectedConversion(tensors, keys);
    }

    /// <summary>
    /// Tensors compared by name (the converter's order depends on how its safetensors library lists keys),
    /// keys compared in order; <paramref name="includeTokenizer"/> false leaves the tokenizer keys out.
    /// </summary>
    public static void AssertMatches(ExpectedConversion expected, GgufFile actual, bool includeTokenizer)
    {
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var e in expected.Tensors)
        {
            var a = actual.FindTensor(e.Name)!;
            Assert.True(string.Equals(e.Type, GgmlTypeInfo.Of(a.Type).Name, StringComparison.OrdinalIgnoreCase), $"{e.Name}: type {GgmlTypeInfo.Of(a.Type).Name}, expected {e.Type}");
            Assert.Equal(e.Shape, a.Shape);
            Assert.Equal(e.Bytes, a.ByteSize);
            Assert.True(e.Sha256 == Convert.ToHexStringLower(SHA256.HashData(a.Data)), $"{e.Name}: bytes differ from the converter's");
        }
        bool Included(string key) => includeTokenizer || !key.StartsWith("tokenizer.", StringComparison.Ordinal);
        var expectedKeys = expected.Keys.Where(k => Included(k.Key)).ToList();
        var actualKeys = actual.Metadata.Where(k => Included(k.Key)).ToList();
        Assert.Equal(expectedKeys.Select(k => k.Key), actualKeys.Select(k => k.Key));
        foreach (var (key, value) in expectedKeys)
        {
            var a = actual.Metadata[key];
            switch (value.ValueKind)
            {
                case JsonValueKind.String when value.GetString()!.StartsWith('[') && a.Type == GgufValueType.Array:
                    Assert.Equal(value.GetString(), Tokenizers.PythonJson.Summarize(a.AsArray()));
                    break;
                case JsonValueKind.String:
                    Assert.Equal(GgufValueType.String, a.Type);
                    Assert.Equal(value.GetString(), a.AsString());
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    Assert.Equal(GgufValueType.Bool, a.Type);
                    Assert.Equal(value.GetBoolean(), a.AsBool());
                    break;
                case JsonValueKind.Number when value.TryGetInt64(out var n) && !value.GetRawText().Contains('.', StringComparison.Ordinal) && !value.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase):
                    // Every integer key the converter writes for these models is u32 (counts, lengths, ids, file type).
                    Assert.True(a.Type == GgufValueType.UInt32, $"{key}: {a.Type}, expected u32");
                    Assert.Equal(n, a.AsUInt32());
                    break;
                case JsonValueKind.Number:
                    Assert.True(a.Type == GgufValueType.Float32, $"{key}: {a.Type}, expected f32");
                    Assert.Equal(value.GetDouble(), (double)a.AsFloat32());
                    break;
                default:
                    Assert.Fail($"{key}: unexpected JSON {value.ValueKind}");
                    break;
            }
        }
    }
}
