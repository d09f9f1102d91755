using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Sampling;
using Quanta.Inference.Sampling.Grammar;
using Quanta.Inference.Tokenizers;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// The grammar sampler against llama.cpp's <c>common_sampler</c> on the golden llama model (Fixtures/grammar
/// sampling.llama.f32.json): the tokens json.gbnf leaves after a prefix, over the whole Llama 2 vocabulary;
/// the same tokens generated, greedy and seeded (the redraw after a refused token included); and every
/// finished JSON generation parses.
/// </summary>
public sealed class GrammarSamplerTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>
{
    static readonly Lazy<JsonElement> Oracle = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(GrammarFixtures.Directory, "sampling.llama.f32.json")));
        return document.RootElement.Clone();
    });

    public static TheoryData<int> MaskIndices() => [.. Enumerable.Range(0, Oracle.Value.GetProperty("masks").GetArrayLength())];

    public static TheoryData<string> RunNames() => [.. Oracle.Value.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("name").GetString()!)];

    [Fact]
    public void JsonGrammarIsLlamaCppsJsonGbnf()
    {
        var file = File.ReadAllText(Path.Combine(GrammarFixtures.Directory, "json.gbnf"));
        Assert.Equal(file.TrimEnd('\n'), JsonGrammar.Gbnf.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void TheBuilderPutsTheGrammarBesideTheChain()
    {
        var parameters = new SamplingParameters { Grammar = "root ::= \"a\"" };
        var chain = SamplerChainBuilder.Build(parameters, ToyVocabulary.Instance.Count, vocabulary: ToyVocabulary.Instance);
        Assert.NotNull(chain.Grammar);
        Assert.DoesNotContain("grammar", chain.Samplers.Select(s => s.Name));
        Assert.Null(SamplerChainBuilder.Build(new SamplingParameters { Grammar = "" }, 10).Grammar);
        Assert.Throws<ArgumentException>(() => SamplerChainBuilder.Build(parameters, 10));
        Assert.Throws<GbnfFormatException>(() => SamplerChainBuilder.Build(parameters with { Grammar = "root ::= (" }, ToyVocabulary.Instance.Count, vocabulary: ToyVocabulary.Instance));
        Assert.Throws<GbnfFormatException>(() => SamplerChainBuilder.Build(parameters with { GrammarRoot = "start" }, ToyVocabulary.Instance.Count, vocabulary: ToyVocabulary.Instance));
    }

    [Theory]
    [MemberData(nameof(MaskIndices))]
    public void MasksTheVocabularyAsLlamaCpp(int index)
    {
        var mask = Oracle.Value.GetProperty("masks")[index];
        using var gguf = GgufFile.Open(files.Path("llama", "f32"));
        var vocabulary = new TokenizerSamplingVocabulary(new Tokenizer(Vocabulary.Load(gguf)));
        var sampler = new GrammarSampler(JsonGrammar.Gbnf, vocabulary);
        byte[] prefix = [.. mask.GetProperty("prefix").EnumerateArray().Select(b => (byte)b.GetInt32())];
        Assert.True(sampler.Matcher.AcceptText(prefix));

        var candidates = new TokenCandidates(vocabulary.Count);
        candidates.Load(new float[vocabulary.Count]);
        sampler.Apply(candidates);
        var allowed = candidates.Span.ToArray().Where(c => c.Logit == 0f).Select(c => c.Id).ToArray();
        Assert.Equal(mask.GetProperty("allowed_count").GetInt32(), allowed.Length);
        if (mask.TryGetProperty("allowed", out var expected))
        {
            Assert.Equal(SamplingFixtures.Ints(expected), allowed);
        }
        else
        {
            var rejected = candidates.Span.ToArray().Where(c => c.Logit != 0f).Select(c => c.Id);
            Assert.Equal(SamplingFixtures.Ints(mask.GetProperty("rejected")), rejected);
        }
    }

    [Theory]
    [MemberData(nameof(RunNames))]
    public void GeneratesTheTokensOfLlamaCpp(string name)
    {
        var run = Oracle.Value.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("name").GetString() == name);
        using var gguf = GgufFile.Open(files.Path("llama", "f32"));
        using var model = LlamaModel.Load(gguf, threads: 2);
        var tokenizer = new Tokenizer(Vocabulary.Load(gguf));
        var grammar = run.GetProperty("grammar").GetString()!;
        var parameters = SamplingParameters.LlamaCli with
        {
            Temperature = run.GetProperty("temperature").GetSingle(),
            Seed = run.GetProperty("seed").GetUInt32(),
            Grammar = grammar == "json" ? JsonGrammar.Gbnf : grammar,
            LogitBias = run.TryGetProperty("logit_bias", out var biases)
                ? [.. biases.EnumerateArray().Select(b => KeyValuePair.Create(b[0].GetInt32(), b[1].GetSingle()))]
                : [],
        };
        var (generated, ended) = Generate(model, tokenizer, parameters, run.GetProperty("prompt").GetString()!, run.GetProperty("n_predict").GetInt32(), SamplingFixtures.Ints(run.GetProperty("prompt_tokens")));
        Assert.Equal(SamplingFixtures.Ints(run.GetProperty("generated")), generated);
        Assert.Equal(run.GetProperty("ended").GetBoolean(), ended);
    }

    [Fact]
    public void EveryFinishedJsonGenerationParses()
    {
        var biased = Oracle.Value.GetProperty("runs").EnumerateArray().First(r => r.TryGetProperty("logit_bias", out _));
        KeyValuePair<int, float>[] biases = [.. biased.GetProperty("logit_bias").EnumerateArray()
            .Select(b => KeyValuePair.Create(b[0].GetInt32(), b[1].GetSingle() / 2))];
        using var gguf = GgufFile.Open(files.Path("llama", "f32"));
        using var model = LlamaModel.Load(gguf, threads: 2);
        var tokenizer = new Tokenizer(Vocabulary.Load(gguf));
        for (uint seed = 100; seed < 112; seed++)
        {
            var parameters = SamplingParameters.Ollama with { Seed = seed, Temperature = 1f, Grammar = JsonGrammar.Gbnf, LogitBias = biases };
            var (generated, ended) = Generate(model, tokenizer, parameters, "Reply in JSON:", 120, expectedPrompt: null);
            Assert.True(ended, $"seed {seed}: no end after {generated.Length} tokens");
            var text = tokenizer.DetokenizeToString(generated);
            using var document = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }

    // llama-cli's loop: the prompt accepted without the grammar, then sample + accept until an end token.
    static (int[] Generated, bool Ended) Generate(LlamaModel model, Tokenizer tokenizer, SamplingParameters parameters, string prompt, int limit, int[]? expectedPrompt)
    {
        const int context = 512;
        var vocabulary = new TokenizerSamplingVocabulary(tokenizer);
        var chain = SamplerChainBuilder.Build(parameters, model.VocabularySize, context, vocabulary, trainingContextLength: model.Hyperparameters.ContextLength);
        var promptTokens = tokenizer.Tokenize(prompt, addSpecial: true, parseSpecial: true);
        if (expectedPrompt is not null)
        {
            Assert.Equal(expectedPrompt, promptTokens);
        }
        foreach (var token in promptTokens)
        {
            chain.Accept(token);
        }
        var logits = new float[promptTokens.Length * model.VocabularySize];
        model.Evaluate(promptTokens, position: 0, context, logits);
        var last = logits.AsSpan((promptTokens.Length - 1) * model.VocabularySize).ToArray();
        var generated = new List<int>();
        for (var i = 0; i < limit; i++)
        {
            var token = chain.Sample(last);
            if (tokenizer.Vocabulary.IsEndOfGeneration(token))
            {
                return ([.. generated], true);
            }
            generated.Add(token);
            model.Evaluate([token], promptTokens.Length + i, context, last);
        }
        return ([.. generated], false);
    }
}
