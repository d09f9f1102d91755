using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Inference.Sampling;

namespace Quanta.Tests.Inference.Chat;

/// <summary>Ollama's options (api/types.go): defaults, <c>FromMap</c>'s typing and layering, the num_predict bound.</summary>
public sealed class ChatParametersTests
{
    static List<KeyValuePair<string, JsonNode?>> Map(string json) =>
        [.. JsonNode.Parse(json)!.AsObject().Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value?.DeepClone()))];

    [Fact]
    public void Defaults_are_ollama_s()
    {
        // api/types.go DefaultOptions, OLLAMA_CONTEXT_LENGTH unset.
        var d = ChatParameters.Defaults;
        Assert.Equal((4, -1L, -1, 40, 0.9f, 0f, 1f, 64, 0.8f, 1f, 0f, 0f, 4096, 512),
            (d.NumKeep, d.Seed, d.NumPredict, d.TopK, d.TopP, d.MinP, d.TypicalP, d.RepeatLastN, d.Temperature, d.RepeatPenalty,
             d.PresencePenalty, d.FrequencyPenalty, d.NumCtx, d.NumBatch));
        Assert.Empty(d.Stop);
    }

    [Fact]
    public void Layers_apply_in_order_each_name_replacing_the_one_below()
    {
        var model = Map("""{"temperature": 0.7, "stop": ["<|end|>", "User:"], "top_k": 20}""");
        var session = Map("""{"temperature": 0.2, "stop": ["###"]}""");
        var request = Map("""{"top_k": 5.9, "seed": 42, "mirostat": 2, "unknown_thing": 1}""");
        var ignored = new List<string>();
        var p = ChatParameters.Defaults.With(model).With(session).With(request, ignored);
        Assert.Equal(0.2f, p.Temperature);
        Assert.Equal(["###"], p.Stop);
        // Go's JSON numbers are float64; an int option takes the whole part.
        Assert.Equal(5, p.TopK);
        Assert.Equal(42, p.Seed);
        Assert.Equal(["mirostat", "unknown_thing"], ignored);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_ollama_s_error()
    {
        Assert.Equal("option \"top_k\" must be of type integer", Assert.Throws<FormatException>(() => ChatParameters.Defaults.With(Map("""{"top_k": "x"}"""))).Message);
        Assert.Equal("option \"temperature\" must be of type float32", Assert.Throws<FormatException>(() => ChatParameters.Defaults.With(Map("""{"temperature": true}"""))).Message);
        Assert.Equal("option \"stop\" must be of type array", Assert.Throws<FormatException>(() => ChatParameters.Defaults.With(Map("""{"stop": "x"}"""))).Message);
        Assert.Equal("option \"stop\" must be of an array of strings", Assert.Throws<FormatException>(() => ChatParameters.Defaults.With(Map("""{"stop": [1]}"""))).Message);
    }

    [Fact]
    public void Num_predict_is_bounded_by_ten_contexts_as_ollama_bounds_it()
    {
        Assert.Equal(40960, ChatParameters.Defaults.PredictionLimit(4096));
        Assert.Equal(100, (ChatParameters.Defaults with { NumPredict = 100 }).PredictionLimit(4096));
        Assert.Equal(2560, (ChatParameters.Defaults with { NumPredict = 5000 }).PredictionLimit(256));
    }

    [Fact]
    public void Sampling_is_ollama_s_chain_settings()
    {
        var p = ChatParameters.Defaults.With(Map("""{"seed": 7, "temperature": 0, "repeat_penalty": 1.1, "presence_penalty": 0.5}""")).ToSampling();
        Assert.Equal(SamplingParameters.Ollama with { Seed = 7, Temperature = 0, RepeatPenalty = 1.1f, PresencePenalty = 0.5f }, p);
        Assert.Equal(SamplingParameters.RandomSeed, ChatParameters.Defaults.ToSampling().Seed);
    }
}
