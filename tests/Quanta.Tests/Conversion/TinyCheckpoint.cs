using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Formats.Safetensors;

namespace Quanta.Tests.Conversion;

/// <summary>
/// The golden tiny checkpoints (Fixtures/convert/&lt;model&gt;), rebuilt bit for bit from weights.json with the
/// splitmix64 stream the golden README describes, and written as model.safetensors (BF16) + config.json.
/// </summary>
internal static class TinyCheckpoint
{
    public static string FixtureDirectory(string model) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "convert", model);

    public sealed record WeightSpec(string Name, long[] Shape, double Scale, double Offset);

    public static (ulong Seed, List<WeightSpec> Tensors) LoadSpec(string model)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDirectory(model), "weights.json")));
        var root = document.RootElement;
        var tensors = root.GetProperty("tensors").EnumerateArray().Select(t => new WeightSpec(
            t.GetProperty("name").GetString()!,
            [.. t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())],
            t.GetProperty("scale").GetDouble(),
            t.TryGetProperty("offset", out var o) ? o.GetDouble() : 0)).ToList();
        return (root.GetProperty("seed").GetUInt64(), tensors);
    }

    /// <summary>The k-th value of the stream (k = 1, 2, ...), in [-1, 1).</summary>
    public static double X(ulong seed, ulong k)
    {
        var z = unchecked(seed + (k * 0x9E3779B97F4A7C15UL));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return ((z >> 40) / 8388608.0) - 1.0;
    }

    public static ushort ToBf16(float f)
    {
        var u = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }

    /// <summary>Every tensor's BF16 values, in generation order.</summary>
    public static List<(WeightSpec Spec, ushort[] Values)> Generate(string model)
    {
        var (seed, specs) = LoadSpec(model);
        var result = new List<(WeightSpec, ushort[])>();
        ulong k = 0;
        foreach (var spec in specs)
        {
            var count = spec.Shape.Aggregate(1L, (a, b) => a * b);
            var values = new ushort[count];
            for (var i = 0; i < count; i++)
            {
                k++;
                values[i] = ToBf16((float)(spec.Offset + (spec.Scale * X(seed, k))));
            }
            result.Add((spec, values));
        }
        return result;
    }

    /// <summary>The real Llama 2 tokenizer files every golden checkpoint uses.</summary>
    static readonly string[] TokenizerFiles = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json"];

    /// <summary>
    /// Writes the checkpoint into <paramref name="directory"/> (created), named like the golden folder: config.json,
    /// model.safetensors and, unless <paramref name="withTokenizer"/> is false, the golden tokenizer files.
    /// </summary>
    public static void Write(string model, string directory, bool withTokenizer = true)
    {
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(FixtureDirectory(model), "config.json"), Path.Combine(directory, "config.json"), overwrite: true);
        if (withTokenizer)
        {
            foreach (var name in TokenizerFiles)
            {
                File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer", name), Path.Combine(directory, name), overwrite: true);
            }
        }
        var tensors = Generate(model);
        WriteSafetensors(Path.Combine(directory, "model.safetensors"), [.. tensors.Select(t => (t.Spec.Name, t.Spec.Shape, t.Values))]);
    }

    public static void WriteSafetensors(string path, IReadOnlyList<(string Name, long[] Shape, ushort[] Bf16)> tensors) =>
        SafetensorsWriter.Write(
            path,
            tensors.Select(t => new SafetensorsEntry(t.Name, "BF16", t.Shape, stream => stream.Write(MemoryMarshal.AsBytes(t.Bf16.AsSpan())))));
}
