using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>One case of Fixtures/quant/manifest.json: ggml's bytes and dequantized floats for one input.</summary>
public sealed record GoldenQuantCase(
    string Input, int Rows, int Cols, string Type, int GgmlTypeId, string? Imatrix, string Quantized, string Dequantized)
{
    /// <summary>Unique and readable: the quantized file name without its extension (<c>gauss.q4_0.im</c>).</summary>
    public string Id => Path.GetFileNameWithoutExtension(Quantized);

    public GgmlType GgmlType => (GgmlType)GgmlTypeId;

    public float[] ReadInput() => GoldenQuantCases.ReadFloats(Input);

    public float[] ReadImportance() => Imatrix is null ? [] : GoldenQuantCases.ReadFloats(Imatrix);

    public byte[] ReadQuantized() => File.ReadAllBytes(GoldenQuantCases.PathOf(Quantized));

    public float[] ReadDequantized() => GoldenQuantCases.ReadFloats(Dequantized);
}

/// <summary>The golden cases copied from ggml (see Fixtures/quant), loaded once per test run.</summary>
public static class GoldenQuantCases
{
    static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "quant");

    static readonly Lazy<IReadOnlyList<GoldenQuantCase>> Manifest = new(Load);

    public static IReadOnlyList<GoldenQuantCase> All => Manifest.Value;

    public static GoldenQuantCase ById(string id) => All.Single(c => c.Id == id);

    public static string PathOf(string file) => Path.Combine(Directory, file);

    public static float[] ReadFloats(string file) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf(file))).ToArray();

    sealed record ManifestFile(int Seed, List<GoldenQuantCase> Cases);

    static IReadOnlyList<GoldenQuantCase> Load()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        var manifest = JsonSerializer.Deserialize<ManifestFile>(File.ReadAllText(PathOf("manifest.json")), options)
            ?? throw new InvalidOperationException("empty golden manifest");
        return manifest.Cases;
    }

    /// <summary>Cases whose type has a registered codec that can encode.</summary>
    public static IEnumerable<GoldenQuantCase> Encodable() =>
        All.Where(c => BlockCodecs.TryGet(c.GgmlType, out var codec) && codec.CanEncode);

    /// <summary>Cases whose type has a registered codec (decode-only codecs included).</summary>
    public static IEnumerable<GoldenQuantCase> Decodable() =>
        All.Where(c => BlockCodecs.TryGet(c.GgmlType, out _));

    public static TheoryData<string> Ids(IEnumerable<GoldenQuantCase> cases)
    {
        var data = new TheoryData<string>();
        foreach (var c in cases)
        {
            data.Add(c.Id);
        }
        return data;
    }
}
