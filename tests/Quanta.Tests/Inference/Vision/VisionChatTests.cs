using Quanta.Cli;
using Quanta.Cli.Interactive;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Chat;
using Quanta.Inference.Models;
using Quanta.Inference.Vision;
using Quanta.Store;
using Quanta.Templates.Ollama;
using CliRunner = Quanta.Tests.Cli.CliRunner;
using RunSessionTests = Quanta.Tests.Cli.RunSessionTests;
using Quanta.Tests.Formats.Gguf;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// Chatting about pictures end to end on tiny models a fresh clone builds: the golden gemma3 (width 64) with a tiny
/// SigLIP projector, as a pair (<c>--mmproj</c>) and merged into Ollama's single file, and the golden llama (width 256,
/// a LLaVA language model) with a tiny CLIP projector. The session's prompt is checked against evaluating the same
/// pieces by hand (text, the picture's rows with Gemma 3's bidirectional attention, text), and <c>quanta run</c> finds
/// the picture path in the prompt as Ollama does.
/// </summary>
public sealed class VisionChatTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>, IDisposable
{
    readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    string Picture(string pattern = "rings")
    {
        var path = _directory.File($"{pattern}.png");
        LlavaOracleTests.SavePng(TestPatterns.Create(pattern, 40, 24), path);
        return path;
    }

    (string Text, string Projector) Gemma3Pair()
    {
        var projector = TinyVisionFiles.WriteGemma3Projector(_directory.File("mmproj-gemma3.gguf"), GgmlType.F16, textWidth: 64);
        return (files.Path("gemma3", "q8_0"), projector);
    }

    [Fact]
    public void A_chat_picture_is_evaluated_where_its_tag_is_with_bidirectional_attention()
    {
        var (text, projector) = Gemma3Pair();
        var picture = File.ReadAllBytes(Picture());
        string answer;
        int[] cached;
        using (var model = ChatModel.Load(text, projector, threads: 2))
        {
            var session = new ChatSession(model, "{{ .Prompt }}");
            var request = new ChatRequest([new PromptMessage("user", "what is in this picture?") { Images = [picture] }])
            {
                Options = [new("temperature", 0), new("num_predict", 4)],
            };
            answer = session.Chat(request).Content;
            cached = [.. session.CachedTokens];
        }

        // By hand: BOS, "\n\n<start_of_image>", 16 rows attended both ways, "<end_of_image>\n\n", the text, greedy.
        using var file = GgufFile.Open(text);
        using var projectorFile = GgufFile.Open(projector);
        using var llama = LlamaModel.Load(file, threads: 2);
        using var vision = VisionModel.Open(projectorFile, threads: 2);
        var tokenizer = new Quanta.Inference.Tokenizers.Tokenizer(Quanta.Inference.Tokenizers.Vocabulary.Load(file));
        int[] Text(string s) => tokenizer.Tokenize(s, addSpecial: false, parseSpecial: true);
        var image = vision.Encode(Quanta.Formats.Images.ImageDecoder.Decode(picture, "picture"));
        Assert.Equal(16, image.Tokens);
        int[] before = [tokenizer.Vocabulary.Bos, .. Text("\n\n<start_of_image>")];
        int[] after = [.. Text("<end_of_image>\n\n"), .. Text("what is in this picture?")];
        Assert.Equal([.. before, .. Enumerable.Repeat(ChatSession.ImagePosition, 16), .. after], cached.Take(before.Length + 16 + after.Length));

        const int context = 2048;
        var vocabulary = llama.VocabularySize;
        var logits = new float[after.Length * vocabulary];
        llama.Evaluate(before, 0, context, logits);
        llama.EvaluateEmbeddings(image.Embeddings, before.Length, context, logits, bidirectional: true);
        llama.Evaluate(after, before.Length + 16, context, logits);
        var row = logits.AsSpan((after.Length - 1) * vocabulary, vocabulary).ToArray();
        var position = before.Length + 16 + after.Length;
        var generated = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var next = row.Index().MaxBy(p => p.Item).Index;
            if (tokenizer.Vocabulary.IsEndOfGeneration(next))
            {
                break;
            }
            generated.Add(next);
            llama.Evaluate([next], position++, context, row);
        }
        Assert.Equal(tokenizer.DetokenizeToString([.. generated], removeSpecial: true), answer);
    }

    /// <summary>One interactive session on <paramref name="model"/> started with <c>--mmproj</c> <paramref name="projector"/>: the lines, then the model it ended with.</summary>
    (string Out, string Error, ChatModel Model, RunModel Session) Session(string model, string projector, params string[] lines)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var options = new RunOptions();
        options.SetParameter("num_predict", ["2"]);
        options.SetParameter("temperature", ["0"]);
        var store = _directory.File("store");
        var loaded = RunModel.Load(() => new ModelStore(store), model, options.Options, projector, CancellationToken.None);
        var session = new RunSession(new CliContext(stdout, stderr), new RunSessionTests.ScriptedLines(lines), () => new ModelStore(store), loaded, options,
            CancellationToken.None, projector);
        session.Run();
        if (!ReferenceEquals(session.Model, loaded))
        {
            loaded.Dispose();
        }
        return (stdout.ToString(), stderr.ToString(), session.Model.Model, session.Model);
    }

    [Fact]
    public void Load_takes_the_new_model_s_own_tower_keeps_an_mmproj_that_fits_and_drops_one_that_does_not()
    {
        var llama = files.Path("llama", "q8_0");
        var llavaProjector = LlavaPromptOracleTests.WriteInputs("llava15-f16", _directory.Path).Projector;
        var (gemmaText, gemmaProjector) = Gemma3Pair();
        var single = _directory.File("gemma3-single.gguf");
        using (var textFile = GgufFile.Open(gemmaText))
        using (var projectorFile = GgufFile.Open(gemmaProjector))
        {
            Gemma3VisionPackaging.Merge(textFile, projectorFile, single);
        }

        // A single gemma3 file brings its own tower: the LLaVA --mmproj is not used for it.
        var own = Session(llama, llavaProjector, $"/load {single}");
        using (own.Session)
        {
            Assert.NotNull(own.Model.Vision);
            Assert.Equal(VisionProjectorType.Gemma3, own.Model.Vision.Parameters.Projector);
            Assert.Null(own.Model.ProjectorPath);
            Assert.Equal("", own.Error);
        }

        // Another LLaVA language model (same width) keeps the --mmproj, and sees a picture named in the prompt.
        var kept = Session(llama, llavaProjector, $"/load {files.Path("llama", "f32")}", $"describe {Picture("bars")}");
        using (kept.Session)
        {
            Assert.Equal(files.Path("llama", "f32"), kept.Model.Path);
            Assert.Equal(llavaProjector, kept.Model.ProjectorPath);
            Assert.Equal(VisionProjectorType.LlavaMlp, kept.Model.Vision!.Parameters.Projector);
            Assert.Contains($"Added image '{Picture("bars")}'", kept.Error, StringComparison.Ordinal);
        }

        // A text model of another width: the projector is dropped with one line, and the model is loaded all the same.
        var dropped = Session(llama, llavaProjector, $"/load {gemmaText}");
        using (dropped.Session)
        {
            Assert.Equal(gemmaText, dropped.Model.Path);
            Assert.Null(dropped.Model.Vision);
            Assert.Null(dropped.Model.ProjectorPath);
            var line = Assert.Single(dropped.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"warning: --mmproj does not fit '{gemmaText}', pictures are off: ", line, StringComparison.Ordinal);
            Assert.Contains("the projector writes 256 columns but the language model's embeddings have 64", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Run_sees_a_picture_path_in_the_prompt_with_gemma3_as_a_pair_and_as_one_file()
    {
        var (text, projector) = Gemma3Pair();
        var single = _directory.File("gemma3-single.gguf");
        using (var textFile = GgufFile.Open(text))
        using (var projectorFile = GgufFile.Open(projector))
        {
            Gemma3VisionPackaging.Merge(textFile, projectorFile, single);
        }
        var prompt = $"what is in this picture? {Picture()}";
        var pair = CliRunner.Run("run", text, "--mmproj", projector, prompt, "--set", "temperature=0", "--set", "num_predict=6");
        Assert.True(pair.ExitCode == 0, pair.Error);
        Assert.Contains($"Added image '{Picture()}'", pair.Error, StringComparison.Ordinal);
        var one = CliRunner.Run("run", single, prompt, "--set", "temperature=0", "--set", "num_predict=6");
        Assert.True(one.ExitCode == 0, one.Error);
        Assert.Contains("Added image", one.Error, StringComparison.Ordinal);
        Assert.Equal(pair.Out, one.Out);
    }

    [Fact]
    public void Run_sees_a_picture_path_with_a_llava_projector_and_names_a_bad_picture()
    {
        var text = files.Path("llama", "q8_0");
        var projector = LlavaPromptOracleTests.WriteInputs("llava15-f16", _directory.Path).Projector;
        var withPicture = CliRunner.Run("run", text, "--mmproj", projector, $"describe {Picture("bars")}", "--set", "temperature=0", "--set", "num_predict=4");
        Assert.True(withPicture.ExitCode == 0, withPicture.Error);
        Assert.Contains("Added image", withPicture.Error, StringComparison.Ordinal);

        // Without a projector the path is only text (Ollama extracts paths only for models that see).
        var textOnly = CliRunner.Run("run", text, $"describe {Picture("bars")}", "--set", "temperature=0", "--set", "num_predict=4");
        Assert.True(textOnly.ExitCode == 0, textOnly.Error);
        Assert.DoesNotContain("Added image", textOnly.Error, StringComparison.Ordinal);

        var bad = _directory.File("truncated.png");
        File.WriteAllBytes(bad, File.ReadAllBytes(Picture("bars"))[..40]);
        var broken = CliRunner.Run("run", text, "--mmproj", projector, $"describe {bad}");
        Assert.NotEqual(0, broken.ExitCode);
        Assert.Contains("truncated.png", broken.Error, StringComparison.Ordinal);
        Assert.Single(broken.Error.Trim().Split('\n'));
    }
}
