using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Xunit;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// The weight types llama.cpp's golden runs do not cover, end to end: the golden llama's f32 file quantized by
/// <c>quanta quantize</c> to a preset that uses the type, run, and its logits compared with the f32 file's over the
/// golden prompt. The oracle is the order llama.cpp's own presets promise (fewer bits, larger KL divergence from f32),
/// anchored on Q4_K_M, whose logits <see cref="GoldenLogitsTests"/> checks against llama.cpp itself.
/// </summary>
public sealed class QuantizedLogitsTests(GoldenModelFiles files, ITestOutputHelper output) : IClassFixture<GoldenModelFiles>
{
    public static TheoryData<string, GgmlType> Presets() => new()
    {
        { "Q3_K_M", GgmlType.Q3_K },
        { "TQ1_0", GgmlType.TQ1_0 },
        { "TQ2_0", GgmlType.TQ2_0 },
        { "IQ3_S", GgmlType.IQ3_S },
        { "NVFP4", GgmlType.NVFP4 },
        { "Q1_0", GgmlType.Q1_0 },
        { "Q2_0", GgmlType.Q2_0 },
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void Quantized_file_runs_with_logits_near_f32(string preset, GgmlType type)
    {
        var reference = GoldenLogitsTests.Reference.Load("llama", "f32");
        var f32 = Logits("f32", reference.Tokens, out _);
        var quantized = Logits(preset, reference.Tokens, out var types);
        Assert.Contains(type, types);
        var anchor = MeanKl(f32, Logits("q4km", reference.Tokens, out _), reference.VocabularySize);
        var kl = MeanKl(f32, quantized, reference.VocabularySize);
        output.WriteLine($"llama.{preset}: mean KL from f32 {kl:G3} (Q4_K_M {anchor:G3})");
        Assert.True(kl > anchor, $"{preset}: mean KL {kl:G3} not above Q4_K_M's {anchor:G3}");
        Assert.True(kl < MaximumKl(preset), $"{preset}: mean KL {kl:G3} ≥ {MaximumKl(preset):G3}");
    }

    [Fact]
    public void TQ1_0_and_TQ2_0_files_give_the_same_logits()
    {
        // Both presets store the same trits and scales, and both kernels sum them in the same lanes: only the
        // packing differs, so the logits must agree to the bit.
        var tokens = GoldenLogitsTests.Reference.Load("llama", "f32").Tokens;
        Assert.Equal(Logits("TQ2_0", tokens, out _), Logits("TQ1_0", tokens, out _));
    }

    // Measured on the golden llama (Q4_K_M 5.8e-4, Q3_K_M 1.05e-3, NVFP4 1.9e-3, IQ3_S 3.3e-3 with every tensor IQ3_S,
    // Q2_0 2.0e-2, ternary 2.06e-2, Q1_0 4.0e-2: its random weights are far from ternary or binary): bounds about 1.5× above, so a wrong lane or scale (KL of
    // order 1) cannot pass. IQ3_XXS and the IQ2/IQ1 presets need an importance matrix: their kernels are checked in
    // VecDotTests only.
    static double MaximumKl(string preset) => preset switch
    {
        "Q3_K_M" => 1.6e-3,
        "IQ3_S" => 5e-3,
        "NVFP4" => 3e-3,
        "Q1_0" => 6e-2,
        "Q2_0" => 3e-2,
        _ => 3e-2,
    };

    float[] Logits(string type, int[] tokens, out HashSet<GgmlType> types)
    {
        using var file = GgufFile.Open(files.Path("llama", type));
        types = [.. file.Tensors.Select(t => t.Type)];
        using var llama = LlamaModel.Load(file, threads: 2);
        var logits = new float[tokens.Length * llama.VocabularySize];
        llama.Evaluate(tokens, logits);
        return logits;
    }

    static double MeanKl(float[] p, float[] q, int vocabulary)
    {
        var rows = p.Length / vocabulary;
        var sum = 0.0;
        for (var r = 0; r < rows; r++)
        {
            sum += GoldenLogitsTests.KlDivergence(p.AsSpan(r * vocabulary, vocabulary), q.AsSpan(r * vocabulary, vocabulary));
        }
        return sum / rows;
    }
}
