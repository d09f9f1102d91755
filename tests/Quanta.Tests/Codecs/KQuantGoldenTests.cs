using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Codecs;
using Xunit;

namespace Quanta.Tests.Codecs;

/// <summary>
/// Every K-quant golden case ggml produced (Fixtures/kquant, a copy of the K-quant part of the shared golden set):
/// encoding must give ggml's bytes and decoding ggml's bytes must give ggml's floats, bit for bit.
/// </summary>
public sealed class KQuantGoldenTests
{
    private static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "kquant");

    private static readonly Lazy<IReadOnlyDictionary<string, GoldenCase>> Cases = new(LoadCases);

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Value.Keys)
        {
            data.Add(name);
        }
        return data;
    }

    internal static IBlockCodec CodecFor(string type) => type.ToUpperInvariant() switch
    {
        "Q2_K" => new Q2KCodec(),
        "Q3_K" => new Q3KCodec(),
        "Q4_K" => new Q4KCodec(),
        "Q5_K" => new Q5KCodec(),
        "Q6_K" => new Q6KCodec(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a K-quant"),
    };

    [Fact]
    public void ManifestCoversEveryKQuantWithAndWithoutImportance()
    {
        foreach (var type in new[] { "q2_K", "q3_K", "q4_K", "q5_K", "q6_K" })
        {
            Assert.Contains(Cases.Value.Values, c => c.Type == type && c.Imatrix is null);
            Assert.Contains(Cases.Value.Values, c => c.Type == type && c.Imatrix is not null);
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EncodeReproducesGgmlBytes(string name)
    {
        var c = Cases.Value[name];
        var input = ReadFloats(c.Input);
        Assert.Equal(c.Rows * c.Cols, input.Length);
        var importance = c.Imatrix is null ? [] : ReadFloats(c.Imatrix);
        var expected = File.ReadAllBytes(Path.Combine(FixtureDir, c.Quantized));

        var actual = new byte[expected.Length];
        CodecFor(c.Type).Encode(input, c.Cols, importance, actual);

        AssertBytesEqual(expected, actual, CodecFor(c.Type));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void DecodeReproducesGgmlFloats(string name)
    {
        var c = Cases.Value[name];
        var quantized = File.ReadAllBytes(Path.Combine(FixtureDir, c.Quantized));
        var expected = ReadFloats(c.Dequantized);

        var actual = new float[expected.Length];
        CodecFor(c.Type).Decode(quantized, actual);

        for (var i = 0; i < expected.Length; ++i)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                Assert.Fail($"value {i}: expected {expected[i]:R} (0x{BitConverter.SingleToUInt32Bits(expected[i]):X8}), got {actual[i]:R} (0x{BitConverter.SingleToUInt32Bits(actual[i]):X8})");
            }
        }
    }

    private static void AssertBytesEqual(byte[] expected, byte[] actual, IBlockCodec codec)
    {
        var blockBytes = Quanta.Formats.GgmlTypeInfo.Of(codec.Type).BlockBytes;
        var mismatched = 0;
        var first = -1;
        for (var i = 0; i < expected.Length; ++i)
        {
            if (expected[i] != actual[i])
            {
                mismatched++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }
        if (mismatched > 0)
        {
            var block = first / blockBytes;
            Assert.Fail($"{mismatched} of {expected.Length} bytes differ; first at byte {first} (block {block}, offset {first % blockBytes}): " +
                $"expected {Convert.ToHexString(expected, block * blockBytes, blockBytes)}, got {Convert.ToHexString(actual, block * blockBytes, blockBytes)}");
        }
    }

    private static float[] ReadFloats(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixtureDir, file));
        // Golden files are little-endian float32, like every machine .NET runs on here.
        return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    private static Dictionary<string, GoldenCase> LoadCases()
    {
        using var stream = File.OpenRead(Path.Combine(FixtureDir, "manifest.json"));
        var manifest = JsonSerializer.Deserialize<Manifest>(stream, JsonOptions)
            ?? throw new InvalidDataException("empty manifest");
        return manifest.Cases.ToDictionary(c => Path.GetFileNameWithoutExtension(c.Quantized), StringComparer.Ordinal);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record Manifest(IReadOnlyList<GoldenCase> Cases);

    internal sealed record GoldenCase(string Input, int Rows, int Cols, string Type, string? Imatrix, string Quantized, string Dequantized);
}
