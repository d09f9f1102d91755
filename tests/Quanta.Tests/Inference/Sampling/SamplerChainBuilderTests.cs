using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>Chains built from llama-cli / Ollama parameters against llama.cpp's <c>common_sampler_init</c>.</summary>
public class SamplerChainBuilderTests
{
    public static TheoryData<string> Cases() => SamplingFixtures.ChainCaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Chain_from_parameters_draws_as_llama_cpp(string name)
    {
        var @case = SamplingFixtures.ChainCase(name);
        var logits = SamplingFixtures.Logits(@case.GetProperty("logits").GetString()!);
        var parameters = SamplingFixtures.Parameters(@case.GetProperty("params"));
        SamplingFixtures.AssertMatchesOracle(@case, SamplerChainBuilder.Build(parameters, logits.Length, vocabulary: ToyVocabulary.Instance, trainingContextLength: 4096));
    }

    [Fact]
    public void Default_chain_is_llama_cli_order()
    {
        var chain = SamplerChainBuilder.Build(SamplingParameters.LlamaCli, 10);
        Assert.Equal(
            ["logit-bias", "penalties", "dry", "top-k", "typical", "top-p", "min-p", "xtc", "temp-ext", "dist"],
            chain.Samplers.Select(s => s.Name));
        Assert.Equal(["logit-bias", "temp", "mirostat"], SamplerChainBuilder.Build(new SamplingParameters { Mirostat = 1 }, 10).Samplers.Select(s => s.Name));
        Assert.Equal(["logit-bias", "temp", "mirostat-v2"], SamplerChainBuilder.Build(new SamplingParameters { Mirostat = 2 }, 10).Samplers.Select(s => s.Name));
    }

    [Fact]
    public void Defaults_are_llama_cpp_and_ollama_defaults()
    {
        var cli = SamplingParameters.LlamaCli;
        Assert.Equal((0.8f, 40, 0.95f, 0.05f, 1f, 64, 1f, 0f, 0f, 0, 5f, 0.1f, 0xFFFFFFFFu),
            (cli.Temperature, cli.TopK, cli.TopP, cli.MinP, cli.TypicalP, cli.RepeatLastN, cli.RepeatPenalty,
             cli.FrequencyPenalty, cli.PresencePenalty, cli.Mirostat, cli.MirostatTau, cli.MirostatEta, cli.Seed));
        var ollama = SamplingParameters.Ollama;
        Assert.Equal((0.8f, 40, 0.9f, 0f, 1f, 64, 1f), (ollama.Temperature, ollama.TopK, ollama.TopP, ollama.MinP, ollama.TypicalP, ollama.RepeatLastN, ollama.RepeatPenalty));
        Assert.Equal(unchecked((uint)-1), SamplingParameters.RandomSeed); // Ollama's seed -1
    }

    [Fact]
    public void Sampler_order_parses_llama_cli_names_and_letters()
    {
        Assert.Equal(SamplerStages.Default, SamplerStages.FromLetters("edkypmxt"));
        Assert.Equal(SamplerStages.Default, SamplerStages.FromNames("penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature"));
        Assert.Equal([SamplerStage.Temperature, SamplerStage.TopK, SamplerStage.TopP, SamplerStage.TypicalP],
            SamplerStages.FromNames("temp;top-k;nucleus;bogus;typical"));
        Assert.Equal([SamplerStage.MinP, SamplerStage.Penalties], SamplerStages.FromLetters("m?e"));
        var chain = SamplerChainBuilder.Build(new SamplingParameters { Samplers = SamplerStages.FromLetters("tk") }, 10);
        Assert.Equal(["logit-bias", "temp-ext", "top-k", "dist"], chain.Samplers.Select(s => s.Name));
    }

    [Fact]
    public void Repeat_last_n_minus_one_is_the_context_size()
    {
        var chain = SamplerChainBuilder.Build(new SamplingParameters { RepeatLastN = -1 }, 10, contextLength: 4096);
        Assert.Equal(4096, chain.Samplers.OfType<PenaltiesSampler>().Single().LastN);
        Assert.Throws<ArgumentException>(() => SamplerChainBuilder.Build(new SamplingParameters { RepeatLastN = -1 }, 10));
        Assert.Throws<ArgumentException>(() => SamplerChainBuilder.Build(new SamplingParameters { Mirostat = 3 }, 10));
        // DRY needs the vocabulary and the training context, but only when enabled.
        Assert.Throws<ArgumentException>(() => SamplerChainBuilder.Build(new SamplingParameters { DryMultiplier = 0.8f }, 10, trainingContextLength: 4096));
        Assert.Throws<ArgumentException>(() => SamplerChainBuilder.Build(new SamplingParameters { DryMultiplier = 0.8f }, 46, vocabulary: ToyVocabulary.Instance));
    }
}
