using System.Globalization;
using System.Text.Json;
using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Sampling;

/// <summary>
/// The oracle fixtures of Fixtures/sampling (see its README): llama.cpp's February 2025 samplers run with
/// GCC's libstdc++ on fixed logit vectors, 200 draws per case, and the candidates after each sampler on
/// the first draw.
/// </summary>
static class SamplingFixtures
{
    static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "sampling");
    static readonly Lazy<Dictionary<string, float[]>> LogitVectors = new(LoadLogits);
    static readonly Lazy<Dictionary<string, JsonElement>> SamplerCases = new(() => LoadCases("samplers.json"));
    static readonly Lazy<Dictionary<string, JsonElement>> ChainCases = new(() => LoadCases("chains.json"));

    public static JsonElement LibStdCxx { get; } = Load("libstdcxx.json");

    public static TheoryData<string> SamplerCaseNames() => [.. SamplerCases.Value.Keys];

    public static IEnumerable<JsonElement> AllSamplerCases => SamplerCases.Value.Values;

    public static TheoryData<string> ChainCaseNames() => [.. ChainCases.Value.Keys];

    public static JsonElement SamplerCase(string name) => SamplerCases.Value[name];

    public static JsonElement ChainCase(string name) => ChainCases.Value[name];

    public static float[] Logits(string vector) => LogitVectors.Value[vector];

    /// <summary>A float written by the oracle: a number (%.9g) or "Infinity"/"-Infinity"/"NaN".</summary>
    public static float Float(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? float.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetSingle();

    public static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(Float)];

    public static int[] Ints(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];

    /// <summary>The sampler a case's spec names, with the spec's arguments.</summary>
    public static ISampler CreateSampler(JsonElement spec)
    {
        float F(string name) => Float(spec.GetProperty(name));
        int I(string name) => spec.GetProperty(name).GetInt32();
        uint U(string name) => spec.GetProperty(name).GetUInt32();
        return spec.GetProperty("type").GetString() switch
        {
            "greedy" => new GreedySampler(),
            "dist" => new DistSampler(U("seed")),
            "top-k" => new TopKSampler(I("k")),
            "top-p" => new TopPSampler(F("p"), I("min_keep")),
            "min-p" => new MinPSampler(F("p"), I("min_keep")),
            "typical" => new TypicalSampler(F("p"), I("min_keep")),
            "temp" => new TemperatureSampler(F("temp")),
            "temp-ext" => new DynamicTemperatureSampler(F("temp"), F("delta"), F("exponent")),
            "penalties" => new PenaltiesSampler(I("last_n"), F("repeat"), F("freq"), F("present")),
            "xtc" => new XtcSampler(F("probability"), F("threshold"), I("min_keep"), U("seed")),
            "mirostat" => new MirostatSampler(I("n_vocab"), U("seed"), F("tau"), F("eta"), I("m")),
            "mirostat-v2" => new MirostatV2Sampler(U("seed"), F("tau"), F("eta")),
            "dry" => new DrySampler(I("context_size"), F("multiplier"), F("base"), I("allowed_length"), I("penalty_last_n"),
                DrySequenceBreakers.FromStrings(ToyVocabulary.Instance, spec.GetProperty("breakers").EnumerateArray().Select(b => b.GetString()!))),
            "logit-bias" => new LogitBiasSampler(spec.GetProperty("biases").EnumerateArray()
                .Select(b => new KeyValuePair<int, float>(b[0].GetInt32(), Float(b[1])))),
            var type => throw new InvalidDataException($"unknown sampler {type}"),
        };
    }

    /// <summary>Llama-cli / Ollama parameters as the oracle's chain builder took them.</summary>
    public static SamplingParameters Parameters(JsonElement p) => new()
    {
        Seed = p.GetProperty("seed").GetUInt32(),
        TopK = p.GetProperty("top_k").GetInt32(),
        TopP = Float(p.GetProperty("top_p")),
        MinP = Float(p.GetProperty("min_p")),
        XtcProbability = Float(p.GetProperty("xtc_probability")),
        XtcThreshold = Float(p.GetProperty("xtc_threshold")),
        TypicalP = Float(p.GetProperty("typical_p")),
        Temperature = Float(p.GetProperty("temperature")),
        DynamicTemperatureRange = Float(p.GetProperty("dynatemp_range")),
        DynamicTemperatureExponent = Float(p.GetProperty("dynatemp_exponent")),
        RepeatLastN = p.GetProperty("repeat_last_n").GetInt32(),
        RepeatPenalty = Float(p.GetProperty("repeat_penalty")),
        FrequencyPenalty = Float(p.GetProperty("frequency_penalty")),
        PresencePenalty = Float(p.GetProperty("presence_penalty")),
        Mirostat = p.GetProperty("mirostat").GetInt32(),
        MirostatTau = Float(p.GetProperty("mirostat_tau")),
        MirostatEta = Float(p.GetProperty("mirostat_eta")),
        MinKeep = p.GetProperty("min_keep").GetInt32(),
        DryMultiplier = Float(p.GetProperty("dry_multiplier")),
        DryBase = Float(p.GetProperty("dry_base")),
        DryAllowedLength = p.GetProperty("dry_allowed_length").GetInt32(),
        DryPenaltyLastN = p.GetProperty("dry_penalty_last_n").GetInt32(),
        Samplers = SamplerStages.FromLetters(p.GetProperty("samplers").GetString()!),
    };

    /// <summary>
    /// Feeds the case's prompt tokens to the chain, then runs <paramref name="chain"/> for as many draws as the case has, asserting the candidates after each
    /// sampler on the first draw and every drawn token id.
    /// </summary>
    public static void AssertMatchesOracle(JsonElement @case, SamplerChain chain)
    {
        var logits = Logits(@case.GetProperty("logits").GetString()!);
        var steps = @case.GetProperty("steps").EnumerateArray().ToArray();
        Assert.Equal(steps.Length, chain.Samplers.Count);

        foreach (var token in Ints(@case.GetProperty("prompt")))
        {
            chain.Accept(token);
        }
        var candidates = chain.Candidates;
        candidates.Load(logits);
        for (var s = 0; s < steps.Length; s++)
        {
            var sampler = chain.Samplers[s];
            sampler.Apply(candidates);
            AssertCandidates(steps[s], sampler.Name, candidates);
        }
        var first = candidates.SelectedToken;
        chain.Accept(first);

        var expected = Ints(@case.GetProperty("draws"));
        var actual = new int[expected.Length];
        actual[0] = first;
        for (var d = 1; d < expected.Length; d++)
        {
            actual[d] = chain.Sample(logits);
        }
        Assert.Equal(expected, actual);
    }

    static void AssertCandidates(JsonElement step, string samplerName, TokenCandidates candidates)
    {
        Assert.Equal(step.GetProperty("sampler").GetString(), samplerName);
        var expected = step.GetProperty("candidates").EnumerateArray().ToArray();
        var span = candidates.Span;
        Assert.True(expected.Length == span.Length, $"{samplerName}: {span.Length} candidates, llama.cpp keeps {expected.Length}");
        Assert.Equal(step.GetProperty("sorted").GetBoolean(), candidates.Sorted);
        Assert.Equal(step.GetProperty("selected").GetInt32(), candidates.Selected);
        for (var i = 0; i < span.Length; i++)
        {
            var id = expected[i][0].GetInt32();
            var logit = Float(expected[i][1]);
            var p = Float(expected[i][2]);
            Assert.True(id == span[i].Id, $"{samplerName}: candidate {i} is token {span[i].Id}, llama.cpp has {id}");
            AssertClose(logit, span[i].Logit, $"{samplerName}: logit of candidate {i} (token {id})");
            AssertClose(p, span[i].P, $"{samplerName}: p of candidate {i} (token {id})");
        }
    }

    static void AssertClose(float expected, float actual, string what)
    {
        if (float.IsInfinity(expected) || float.IsNaN(expected))
        {
            Assert.True(expected.Equals(actual), $"{what}: {actual}, llama.cpp {expected}");
            return;
        }
        var tolerance = 1e-6f * Math.Max(1f, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: {actual}, llama.cpp {expected}");
    }

    static JsonElement Load(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, file)));
        return document.RootElement.Clone();
    }

    static Dictionary<string, float[]> LoadLogits() =>
        Load("logits.json").EnumerateObject().ToDictionary(p => p.Name, p => Floats(p.Value));

    static Dictionary<string, JsonElement> LoadCases(string file) =>
        Load(file).EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
}
