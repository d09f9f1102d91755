using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Images;
using Quanta.Inference.Vision;
using Quanta.Tests.Formats.Gguf;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// LLaVA's image path against llama.cpp's February 2025 clip library. The fixtures in Fixtures/vision were made by
/// a harness linked to <c>libllava_static.a</c> (built with <c>cmake --build build --target llava_static</c> from
/// that tree): <c>clip_model_load</c>, <c>clip_image_load_from_file</c> (stb), <c>clip_image_preprocess</c> (dumped
/// to <c>CASE.pre.f32</c>) and <c>llava_image_embed_make_with_clip_img</c> with one thread (dumped to
/// <c>CASE.embd.f32</c>, <c>[n_pos][n_embd]</c>), run on the GGUF and PNG files this class writes
/// (set QUANTA_VISION_FIXTURE_OUT to a folder to get them; <c>inputs.sha256</c> records what the harness read).
/// </summary>
public sealed class LlavaOracleTests
{
    static readonly string[] CaseNames = ["llava15-f16", "llava15-q8_0", "llava15-f16-square", "llava16-f16"];

    public static TheoryData<string> Cases => new(CaseNames);

    static (GgmlType Type, bool AnyResolution, string Pattern, int Width, int Height) Case(string name) => name switch
    {
        "llava15-f16" => (GgmlType.F16, false, "rings", 40, 24),
        "llava15-q8_0" => (GgmlType.Q8_0, false, "rings", 40, 24),
        "llava15-f16-square" => (GgmlType.F16, false, "gradient", 48, 48),
        "llava16-f16" => (GgmlType.F16, true, "bars", 70, 40),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "vision", file);

    /// <summary>Writes the case's model and picture (the harness's inputs) into <paramref name="directory"/>.</summary>
    internal static (string Model, string Image) WriteInputs(string name, string directory)
    {
        var (type, anyResolution, pattern, width, height) = Case(name);
        var model = TinyVisionFiles.WriteLlava(Path.Combine(directory, name + ".gguf"), type, anyResolution);
        var image = Path.Combine(directory, name + ".png");
        SavePng(TestPatterns.Create(pattern, width, height), image);
        return (model, image);
    }

    internal static void SavePng(RgbImage picture, string path)
    {
        using var image = Image.LoadPixelData<Rgb24>(picture.Pixels, picture.Width, picture.Height);
        image.SaveAsPng(path);
    }

    [Fact]
    public void The_inputs_are_the_files_the_oracle_read()
    {
        var export = Environment.GetEnvironmentVariable("QUANTA_VISION_FIXTURE_OUT");
        using var directory = new TempDirectory();
        var lines = new List<string>();
        foreach (var name in CaseNames)
        {
            var (model, image) = WriteInputs(name, export ?? directory.Path);
            lines.Add($"{Sha256(model)}  {Path.GetFileName(model)}");
            lines.Add($"{Sha256(image)}  {Path.GetFileName(image)}");
        }
        if (export is null)
        {
            Assert.Equal(File.ReadAllLines(Fixture("inputs.sha256")), lines);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Preprocessing_is_clip_image_preprocess(string name)
    {
        using var directory = new TempDirectory();
        var (modelPath, imagePath) = WriteInputs(name, directory.Path);
        using var file = GgufFile.Open(modelPath);
        var tiles = VisionPreprocessor.Prepare(ImageDecoder.DecodeFile(imagePath), VisionHyperparameters.Read(file));
        var expected = ReadFloats(Fixture(name + ".pre.f32"));
        var actual = tiles.Tiles.SelectMany(t => t).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        var differing = Enumerable.Range(0, actual.Length).Count(i => actual[i] != expected[i]);
        Assert.Equal(0, differing);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Embeddings_match_llava_image_embed(string name)
    {
        using var directory = new TempDirectory();
        var (modelPath, imagePath) = WriteInputs(name, directory.Path);
        using var file = GgufFile.Open(modelPath);
        using var model = VisionModel.Open(file, threads: 2);
        var embedding = model.Encode(ImageDecoder.DecodeFile(imagePath));
        var shape = File.ReadAllText(Fixture(name + ".embd.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(int.Parse(shape[0], System.Globalization.CultureInfo.InvariantCulture), embedding.Tokens);
        Assert.Equal(int.Parse(shape[1], System.Globalization.CultureInfo.InvariantCulture), embedding.EmbeddingLength);
        var expected = ReadFloats(Fixture(name + ".embd.f32"));
        Assert.Equal(expected.Length, embedding.Embeddings.Length);
        var maxDelta = expected.Zip(embedding.Embeddings, (a, b) => Math.Abs(a - b)).Max();
        var cosine = Cosine(expected, embedding.Embeddings);
        // The bound for F16 and Q8_0 towers alike; every case is in fact equal to clip.cpp bit for bit, which
        // the last assertion holds to. Every product takes the oracle's order (tinyBLAS only where its shape rules take
        // it, ggml_vec_dot_f32 as GCC compiled it, soft_max's vectorised expf, GELU's table as GCC built it):
        // ClipLayerOracleTests checks those pieces one by one.
        const double tolerance = 1e-3;
        Assert.True(maxDelta <= tolerance, $"max |Δ| {maxDelta:E3} (cosine {cosine:F7})");
        Assert.True(cosine >= 0.99999, $"cosine {cosine:F7} (max |Δ| {maxDelta:E3})");
        Assert.Equal(expected, embedding.Embeddings);
    }

    internal static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    internal static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
