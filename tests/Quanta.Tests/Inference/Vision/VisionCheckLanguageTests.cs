using System.Globalization;
using System.Text.Json;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Vision;
using Quanta.Tests.Formats.Gguf;
using Quanta.Tests.Inference.Models;
using CliRunner = Quanta.Tests.Cli.CliRunner;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// <c>vision-check</c> with language models: a text model with <c>--mmproj</c> against itself (KL 0, similarity 1) and
/// against Ollama's single file of a Q8_0 text model and a Q8_0 projector (a small, finite, positive KL), on the golden
/// gemma3 (width 64) and a tiny SigLIP projector; and the KL itself against float64 arithmetic.
/// </summary>
public sealed class VisionCheckLanguageTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>, IDisposable
{
    readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void The_kl_divergence_is_that_of_the_softmax_distributions()
    {
        float[] p = [1f, 2f, 0.5f, -1f];
        float[] q = [1.2f, 1.5f, 0.5f, -0.5f];
        static double[] Softmax(float[] x)
        {
            var e = x.Select(v => Math.Exp(v)).ToArray();
            return [.. e.Select(v => v / e.Sum())];
        }
        var (sp, sq) = (Softmax(p), Softmax(q));
        var expected = sp.Zip(sq, (a, b) => a * Math.Log(a / b)).Sum();
        Assert.Equal(expected, CaptionProbe.KlDivergence(p, q), 12);
        Assert.Equal(0.0, CaptionProbe.KlDivergence(p, p));
    }

    [Fact]
    public void A_text_model_with_its_projector_reports_the_next_token_kl()
    {
        var text = files.Path("gemma3", "f32");
        var projector = TinyVisionFiles.WriteGemma3Projector(_directory.File("mmproj-f16.gguf"), GgmlType.F16, textWidth: 64);
        var same = CliRunner.Run("vision-check", text, text, "--mmproj", projector, "--json", "-t", "2");
        Assert.True(same.ExitCode == 0, same.Error);
        var sameJson = JsonDocument.Parse(same.Out).RootElement;
        Assert.All(sameJson.GetProperty("images").EnumerateArray(), image =>
        {
            Assert.Equal("0.000000", image.GetProperty("next_token_kl").GetRawText());
            Assert.Equal("1.000000", image.GetProperty("projected").GetProperty("cosine").GetRawText());
        });

        var quantProjector = TinyVisionFiles.WriteGemma3Projector(_directory.File("mmproj-q8_0.gguf"), GgmlType.Q8_0, textWidth: 64);
        var single = _directory.File("gemma3-q8_0-single.gguf");
        using (var textFile = GgufFile.Open(files.Path("gemma3", "q8_0")))
        using (var projectorFile = GgufFile.Open(quantProjector))
        {
            Gemma3VisionPackaging.Merge(textFile, projectorFile, single);
        }
        var quantized = CliRunner.Run("vision-check", text, single, "--mmproj", projector, "-t", "2");
        Assert.True(quantized.ExitCode == 0, quantized.Error);
        var lines = quantized.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("next-token KL", lines[0], StringComparison.Ordinal);
        foreach (var row in lines[1..^1])
        {
            var kl = double.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture);
            Assert.True(kl > 0 && kl < 0.1, row);
        }
    }
}
