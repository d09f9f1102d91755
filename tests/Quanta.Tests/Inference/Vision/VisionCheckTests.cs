using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Vision;
using Quanta.Tests.Cli;


namespace Quanta.Tests.Inference.Vision;

/// <summary><c>vision-check</c>: identical towers, a Q4_K tower, a corrupted tower, bad pictures.</summary>
public sealed class VisionCheckTests : IDisposable
{
    readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    string Llava(string name, GgmlType tower, Func<string, float[], float[]>? patch = null) =>
        TinyVisionFiles.WriteLlava(Path.Combine(_directory.Path, name), tower, patch: patch, width: 256, projectorType: GgmlType.F16);

    [Fact]
    public void Identical_files_are_similarity_one_and_ok()
    {
        var file = Llava("base.gguf", GgmlType.F16);
        var result = CliRunner.Run("vision-check", file, file);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(TestPatterns.BuiltIn.Count + 2, lines.Length);
        foreach (var line in lines[1..^1])
        {
            Assert.Matches(@"^\w+\s+16\s+1\.000000\s+0\.000000\s+1\.000000\s+0\.000000\s+ok\s+tower$", line);
        }
        Assert.StartsWith("overall: ok (lowest similarity 1.000000 on ", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_q4_k_tower_reports_a_lower_similarity()
    {
        var baseFile = Llava("base.gguf", GgmlType.F16);
        var quantFile = Llava("q4_k.gguf", GgmlType.Q4_K);
        var result = CliRunner.Run("vision-check", baseFile, quantFile, "--json");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Out);
        foreach (var image in json.RootElement.GetProperty("images").EnumerateArray())
        {
            var cosine = image.GetProperty("projected").GetProperty("cosine").GetDouble();
            Assert.InRange(cosine, 0.5, 0.999999);
            Assert.Equal("tower", image.GetProperty("lost_most").GetString());
        }
        // Six decimals in the JSON too.
        Assert.Matches(@"""cosine"": \d\.\d{6},", result.Out);
    }

    [Fact]
    public void A_corrupted_tower_is_broken_not_an_error()
    {
        var baseFile = Llava("base.gguf", GgmlType.F16);
        var corrupted = Llava("corrupted.gguf", GgmlType.F16, (name, values) =>
            name == "v.blk.0.attn_v.weight" ? [.. values.Select((v, i) => i % 7 == 0 ? 60000f : v * -300f)] : values);
        var result = CliRunner.Run("vision-check", baseFile, corrupted);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(" broken ", result.Out, StringComparison.Ordinal);
        Assert.StartsWith("overall: broken", result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Save_embeddings_writes_base_and_quant_float32_rows()
    {
        var file = Llava("base.gguf", GgmlType.F16);
        var images = Directory.CreateDirectory(Path.Combine(_directory.Path, "images")).FullName;
        LlavaOracleTests.SavePng(TestPatterns.Create("checker", 40, 30), Path.Combine(images, "cat.png"));
        var output = Directory.CreateDirectory(Path.Combine(_directory.Path, "out")).FullName;
        var result = CliRunner.Run("vision-check", file, file, "--images", images, "--save-embeddings", output);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("cat ", result.Out, StringComparison.Ordinal);
        Assert.Equal(16 * TinyVisionFiles.ClipProjection * 4, new FileInfo(Path.Combine(output, "rings.base.f32")).Length);
        Assert.Equal(File.ReadAllBytes(Path.Combine(output, "cat.base.f32")), File.ReadAllBytes(Path.Combine(output, "cat.quant.f32")));
        Assert.Equal(2 * (TestPatterns.BuiltIn.Count + 1), Directory.GetFiles(output).Length);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("truncated")]
    [InlineData("huge")]
    public void A_picture_that_cannot_be_decoded_is_one_line_and_exit_2(string kind)
    {
        var file = Llava("base.gguf", GgmlType.F16);
        var images = Directory.CreateDirectory(Path.Combine(_directory.Path, "images")).FullName;
        var broken = Path.Combine(images, "broken.png");
        switch (kind)
        {
            case "text":
                File.WriteAllText(broken, "not a picture");
                break;
            case "truncated":
                LlavaOracleTests.SavePng(TestPatterns.Create("rings", 64, 64), broken);
                File.WriteAllBytes(broken, File.ReadAllBytes(broken)[..^40]);
                break;
            default:
                // A 30,000 × 30,000 header: refused from the header (ImageDecoderTests measures the allocation).
                File.WriteAllBytes(broken, ImageDecoderTests.HugePngHeader());
                break;
        }
        var result = CliRunner.Run("vision-check", file, file, "--images", images);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("broken.png", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_model_is_refused_with_a_hint()
    {
        var file = Llava("base.gguf", GgmlType.F16);
        var result = CliRunner.Run("vision-check", file, CliRunner.TinyModel);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("mmproj", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public void The_sweep_measures_each_component_at_each_type()
    {
        var file = Llava("base.gguf", GgmlType.F16);
        var result = CliRunner.Run("vision-check", file, "--sweep", "--json", "-t", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var rows = json.RootElement.GetProperty("sweep").EnumerateArray().ToList();
        Assert.Equal(8, rows.Count);
        double Lowest(string component, string type) => rows.Single(r => r.GetProperty("component").GetString() == component && r.GetProperty("type").GetString() == type).GetProperty("lowest_similarity").GetDouble();
        long Bytes(string component, string type) => rows.Single(r => r.GetProperty("component").GetString() == component && r.GetProperty("type").GetString() == type).GetProperty("bytes").GetInt64();
        // F16 is the file as it is; each smaller type is smaller and sees a little less (width 256: every matrix converts).
        Assert.Equal(1.0, Lowest("tower", "f16"));
        Assert.True(Lowest("tower", "q4_K") < Lowest("tower", "q8_0"), result.Out);
        Assert.True(Lowest("tower", "q4_K") > 0.5, result.Out);
        Assert.True(Bytes("tower", "q4_K") < Bytes("tower", "q6_K") && Bytes("tower", "q6_K") < Bytes("tower", "q8_0") && Bytes("tower", "q8_0") < Bytes("tower", "f16"));
        Assert.All(rows, r => Assert.Contains(r.GetProperty("verdict").GetString(), new[] { "ok", "degraded", "broken" }));

        var both = CliRunner.Run("vision-check", file, file, "--sweep");
        Assert.Equal(1, both.ExitCode);
    }
}
