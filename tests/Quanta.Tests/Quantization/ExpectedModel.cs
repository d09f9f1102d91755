using System.Security.Cryptography;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

/// <summary>
/// The tiny-llama golden files: for a preset, every tensor llama-quantize wrote (name, type, shape, SHA-256 of
/// the data) and the file type. Presets whose types Quanta cannot encode yet are left out of the test data.
/// </summary>
internal static class ExpectedModel
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models");

    public static string TinyModel => Path.Combine(Directory, "tiny-llama-f16.gguf");

    /// <summary>Presets with an expected file, in name order.</summary>
    public static IReadOnlyList<string> AllPresets =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "tiny-llama.*.expected.json")
            .Select(p => Path.GetFileName(p)["tiny-llama.".Length..^".expected.json".Length])
            .Order(StringComparer.Ordinal)];

    /// <summary>Presets whose every expected type has an encoder today.</summary>
    public static IReadOnlyList<string> CoveredPresets => [.. AllPresets.Where(IsCovered)];

    public static TheoryData<string> Covered()
    {
        var data = new TheoryData<string>();
        foreach (var preset in CoveredPresets)
        {
            data.Add(preset);
        }
        return data;
    }

    public static bool IsCovered(string preset) =>
        Load(preset).Tensors.All(t => !GgmlTypeInfo.TryParse(t.Type, out var info) || info.Type is GgmlType.F32 or GgmlType.F16
            || BlockCodecs.TryGet(info.Type, out var codec) && codec.CanEncode);

    public sealed record Tensor(string Name, string Type, long[] Shape, string Sha256);

    public sealed record Expected(int FileType, IReadOnlyList<Tensor> Tensors);

    public static Expected Load(string preset) => LoadFile(Path.Combine(Directory, $"tiny-llama.{preset}.expected.json"));

    /// <summary>A record in this layout at <paramref name="path"/> (other models' llama-quantize outputs use it too).</summary>
    public static Expected LoadFile(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = json.RootElement;
        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t => new Tensor(
            t.GetProperty("name").GetString()!,
            t.GetProperty("type").GetString()!,
            [.. t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())],
            t.GetProperty("sha256").GetString()!)).ToArray();
        return new Expected(root.GetProperty("file_type").GetInt32(), tensors);
    }

    /// <summary>The same record for a written file, to compare with <see cref="Load"/>.</summary>
    public static IReadOnlyList<Tensor> Describe(GgufFile file) =>
        [.. file.Tensors.Select(t => new Tensor(t.Name, t.Type.ToString(), [.. t.Shape], Convert.ToHexStringLower(SHA256.HashData(t.Data))))];

    /// <summary>Asserts that <paramref name="path"/> holds exactly what llama-quantize wrote for <paramref name="preset"/>.</summary>
    public static void AssertMatches(string preset, string path) => AssertMatches(Load(preset), path);

    /// <summary>
    /// Asserts that <paramref name="path"/> holds <paramref name="expected"/>'s tensors: in its order, or matched by
    /// name where the file was written in another order (convert writes convert_hf_to_gguf.py's, llama-quantize its input's).
    /// </summary>
    public static void AssertMatches(Expected expected, string path, bool byName = false)
    {
        using var file = GgufFile.Open(path);
        Assert.Equal(expected.FileType, (int)file.Metadata.GetUInt32(GgufKeys.FileType));
        var actual = Describe(file);
        var wanted = byName ? [.. expected.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal)] : expected.Tensors;
        if (byName)
        {
            actual = [.. actual.OrderBy(t => t.Name, StringComparer.Ordinal)];
        }
        Assert.Equal(wanted.Select(t => t.Name), actual.Select(t => t.Name));
        for (var i = 0; i < actual.Count; i++)
        {
            var (e, a) = (wanted[i], actual[i]);
            Assert.True(string.Equals(e.Type, a.Type, StringComparison.OrdinalIgnoreCase), $"{e.Name}: type {a.Type}, expected {e.Type}");
            Assert.Equal(e.Shape, a.Shape);
            Assert.True(e.Sha256 == a.Sha256, $"{e.Name} ({e.Type}): data differs from llama-quantize's");
        }
    }
}
