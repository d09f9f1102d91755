using System.Globalization;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Images;
using Quanta.Inference.Models;
using Quanta.Inference.Vision;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// A LLaVA prompt with a picture through the language model (<see cref="LlamaModel.EvaluateEmbeddings"/>) against
/// llama.cpp's February 2025 libllama + clip/llava. The fixtures in Fixtures/vision/llm were made by a harness linked to
/// <c>libllava_static.a</c> and <c>libllama.so</c> (one thread, n_ctx 256, n_batch 512): it evaluates the "system"
/// tokens with <c>llama_batch_get_one</c>, the picture with <c>llava_image_embed_make_with_filename</c> +
/// <c>llava_eval_image_embed</c>, then the "user" tokens, as <c>llama-llava-cli</c> does, and dumps the last logits
/// (<c>CASE.logits.f32</c>) and the tokens and 8 greedy tokens (<c>CASE.tokens.txt</c>). Its inputs are the
/// tiny-llama-f16 fixture as the language model (token ids are given as numbers: its synthetic vocabulary has no byte
/// tokens, so llama.cpp cannot tokenize text with it), and the projector and PNG this class writes (set
/// QUANTA_VISION_FIXTURE_OUT to a folder to get them). Command: <c>llava-logits tiny-llama-f16.gguf
/// mmproj-CASE-256.gguf CASE-prompt.png 1,3,30,57,120,8,250 200,17,44,5,301 8 CASE</c>.
/// </summary>
public sealed class LlavaPromptOracleTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static readonly int[] SystemTokens = [1, 3, 30, 57, 120, 8, 250];
    static readonly int[] UserTokens = [200, 17, 44, 5, 301];
    const int ContextLength = 256;

    static readonly string[] CaseNames = ["llava15-f16", "llava15-q8_0", "llava16-f16"];

    public static TheoryData<string> Cases => new(CaseNames);

    static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "vision", "llm", file);

    /// <summary>The case's projector (to the tiny llama's 256 columns) and picture, written into <paramref name="directory"/>.</summary>
    internal static (string Projector, string Image) WriteInputs(string name, string directory)
    {
        var (type, anyResolution) = name switch
        {
            "llava15-f16" => (GgmlType.F16, false),
            "llava15-q8_0" => (GgmlType.Q8_0, false),
            "llava16-f16" => (GgmlType.F16, true),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var projector = TinyVisionFiles.WriteLlava(Path.Combine(directory, $"mmproj-{name}-256.gguf"), type, anyResolution, projection: 256);
        var image = Path.Combine(directory, $"{name}-prompt.png");
        LlavaOracleTests.SavePng(TestPatterns.Create(anyResolution ? "bars" : "rings", 40, 24), image);
        return (projector, image);
    }

    [Fact]
    public void Writes_the_harness_inputs_when_asked()
    {
        var export = Environment.GetEnvironmentVariable("QUANTA_VISION_FIXTURE_OUT");
        using var directory = new TempDirectory();
        foreach (var name in CaseNames)
        {
            var (projector, image) = WriteInputs(name, export ?? directory.Path);
            Assert.True(File.Exists(projector) && File.Exists(image));
        }
    }

    sealed record Expected(int[] System, int ImagePositions, int[] User, int[] Greedy, float[] Logits);

    static Expected Load(string name)
    {
        var lines = File.ReadAllLines(Fixture(name + ".tokens.txt")).ToDictionary(l => l.Split(' ')[0], l => l.Split(' ').Skip(1).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        return new Expected(lines["system"], lines["image"][0], lines["user"], lines["greedy"], LlavaOracleTests.ReadFloats(Fixture(name + ".logits.f32")));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_and_greedy_tokens_after_the_picture_match_llama_cpp(string name)
    {
        var expected = Load(name);
        using var directory = new TempDirectory();
        var (projectorPath, imagePath) = WriteInputs(name, directory.Path);
        using var textFile = GgufFile.Open(GgufTestFiles.TinyLlama);
        using var projectorFile = GgufFile.Open(projectorPath);
        using var llama = LlamaModel.Load(textFile, threads: 2);
        using var vision = VisionModel.Open(projectorFile, threads: 2);
        var (system, user) = (SystemTokens, UserTokens);
        Assert.Equal(expected.System, system);
        Assert.Equal(expected.User, user);
        var image = vision.Encode(ImageDecoder.DecodeFile(imagePath));
        Assert.Equal(expected.ImagePositions, image.Tokens);

        var vocabulary = llama.VocabularySize;
        var logits = new float[system.Length * vocabulary];
        llama.Evaluate(system, 0, ContextLength, logits);
        llama.EvaluateEmbeddings(image.Embeddings, system.Length, ContextLength, logits);
        llama.EvaluateLast(user, system.Length + image.Tokens, ContextLength, logits);
        var last = logits.AsSpan(0, vocabulary).ToArray();
        var maxDelta = expected.Logits.Zip(last, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{name}: max |Δlogit| {maxDelta:E3} over {vocabulary} logits");
        Assert.True(maxDelta <= 2e-3, $"{name}: max |Δlogit| {maxDelta:E3}");
        Assert.Equal(expected.Logits.Index().MaxBy(p => p.Item).Index, last.Index().MaxBy(p => p.Item).Index);

        var generated = new List<int>();
        var position = system.Length + image.Tokens + user.Length;
        for (var i = 0; i < expected.Greedy.Length; i++)
        {
            var next = logits.AsSpan(0, vocabulary).ToArray().Index().MaxBy(p => p.Item).Index;
            generated.Add(next);
            llama.Evaluate([next], position++, ContextLength, logits);
        }
        Assert.Equal(expected.Greedy, generated);
    }
}
