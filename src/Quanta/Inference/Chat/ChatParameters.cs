using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quanta.Inference.Sampling;

namespace Quanta.Inference.Chat;

/// <summary>
/// Ollama's options for one request (ollama/ollama <c>api/types.go</c>, <c>Options</c> and <c>Runner</c>), with its
/// defaults (<c>DefaultOptions</c>). Layers are applied as Ollama applies them (<c>Options.FromMap</c>), each over the
/// one before: the built-in defaults, the model's params layer, the session's <c>/set parameter</c>, the request.
/// </summary>
public sealed record ChatParameters
{
    /// <summary>Ollama's default context length (<c>OLLAMA_CONTEXT_LENGTH</c> unset).</summary>
    public const int DefaultContextLength = 4096;

    /// <summary>Ollama's bound on an open-ended answer: this many times the context (<c>openEndedGenerationContextMultiplier</c>).</summary>
    public const int OpenEndedContextMultiplier = 10;

    /// <summary>Ollama's defaults.</summary>
    public static ChatParameters Defaults { get; } = new();

    /// <summary>Prompt tokens kept at the start when the context is shifted (<c>num_keep</c>; −1: the whole prompt).</summary>
    public int NumKeep { get; init; } = 4;

    /// <summary>Random seed (<c>seed</c>); −1 draws one.</summary>
    public long Seed { get; init; } = -1;

    /// <summary>Most tokens to generate (<c>num_predict</c>); −1 is unbounded, up to <see cref="OpenEndedContextMultiplier"/> × <see cref="NumCtx"/>.</summary>
    public int NumPredict { get; init; } = -1;

    public int TopK { get; init; } = 40;

    public float TopP { get; init; } = 0.9f;

    public float MinP { get; init; }

    public float TypicalP { get; init; } = 1f;

    public int RepeatLastN { get; init; } = 64;

    public float Temperature { get; init; } = 0.8f;

    public float RepeatPenalty { get; init; } = 1f;

    public float PresencePenalty { get; init; }

    public float FrequencyPenalty { get; init; }

    /// <summary>Texts that end the answer (<c>stop</c>); the answer ends before them.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Context length in tokens (<c>num_ctx</c>).</summary>
    public int NumCtx { get; init; } = DefaultContextLength;

    /// <summary>Most prompt tokens evaluated in one batch (<c>num_batch</c>).</summary>
    public int NumBatch { get; init; } = 512;

    /// <summary>Threads (<c>num_thread</c>); 0 lets the runtime decide.</summary>
    public int NumThread { get; init; }

    /// <summary>
    /// The token budget of one answer: <see cref="NumPredict"/>, or <see cref="OpenEndedContextMultiplier"/> ×
    /// <paramref name="contextLength"/> when it is negative or larger (Ollama's <c>boundedNumPredict</c>).
    /// </summary>
    public int PredictionLimit(int contextLength)
    {
        var limit = OpenEndedContextMultiplier * (long)contextLength;
        return NumPredict < 0 || NumPredict > limit ? (int)Math.Min(limit, int.MaxValue) : NumPredict;
    }

    /// <summary>The llama.cpp sampler parameters these options give, as Ollama passes them to llama.cpp's server.</summary>
    public SamplingParameters ToSampling() => SamplingParameters.Ollama with
    {
        Seed = Seed < 0 ? SamplingParameters.RandomSeed : unchecked((uint)Seed),
        Temperature = Temperature,
        TopK = TopK,
        TopP = TopP,
        MinP = MinP,
        TypicalP = TypicalP,
        RepeatLastN = RepeatLastN,
        RepeatPenalty = RepeatPenalty,
        FrequencyPenalty = FrequencyPenalty,
        PresencePenalty = PresencePenalty,
    };

    /// <summary>The option names Ollama knows, as <c>Options.FromMap</c> matches them (JSON tags).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "num_keep", "seed", "num_predict", "top_k", "top_p", "min_p", "typical_p", "repeat_last_n", "temperature",
        "repeat_penalty", "presence_penalty", "frequency_penalty", "stop", "num_ctx", "num_batch", "num_gpu", "main_gpu",
        "use_mmap", "num_thread", "draft_num_predict",
    ];

    /// <summary>
    /// These options with <paramref name="values"/> applied over them, as Ollama's <c>Options.FromMap</c>: a known
    /// name sets its field (JSON numbers convert: an integer option takes a float's whole part; a list replaces the
    /// list), a null value changes nothing, an unknown name is left out and reported in <paramref name="ignored"/>, and
    /// a value of the wrong type is an error. GPU and memory-mapping options are accepted and have no effect here.
    /// </summary>
    /// <exception cref="FormatException">A value of the wrong type; the message is Ollama's.</exception>
    public ChatParameters With(IEnumerable<KeyValuePair<string, JsonNode?>> values, ICollection<string>? ignored = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var p = this;
        foreach (var (name, value) in values)
        {
            if (!Names.Contains(name))
            {
                ignored?.Add(name);
                continue;
            }
            if (value is null)
            {
                continue;
            }
            p = name switch
            {
                "num_keep" => p with { NumKeep = Integer(name, value) },
                "seed" => p with { Seed = Long(name, value) },
                "num_predict" => p with { NumPredict = Integer(name, value) },
                "top_k" => p with { TopK = Integer(name, value) },
                "top_p" => p with { TopP = Float(name, value) },
                "min_p" => p with { MinP = Float(name, value) },
                "typical_p" => p with { TypicalP = Float(name, value) },
                "repeat_last_n" => p with { RepeatLastN = Integer(name, value) },
                "temperature" => p with { Temperature = Float(name, value) },
                "repeat_penalty" => p with { RepeatPenalty = Float(name, value) },
                "presence_penalty" => p with { PresencePenalty = Float(name, value) },
                "frequency_penalty" => p with { FrequencyPenalty = Float(name, value) },
                "stop" => p with { Stop = Strings(name, value) },
                "num_ctx" => p with { NumCtx = Integer(name, value) },
                "num_batch" => p with { NumBatch = Integer(name, value) },
                "num_thread" => p with { NumThread = Integer(name, value) },
                "use_mmap" => Checked(p, Boolean(name, value)),
                // num_gpu, main_gpu, draft_num_predict: integers that choose GPUs and a draft model.
                _ => Checked(p, Integer(name, value)),
            };
        }
        return p;
    }

    /// <summary>An option that was type-checked and has no effect on the CPU.</summary>
    static ChatParameters Checked<T>(ChatParameters p, T value)
    {
        _ = value;
        return p;
    }

    static long Long(string name, JsonNode value)
    {
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            // Go's JSON gives float64; an int field takes its whole part (int64(t)).
            return v.TryGetValue<long>(out var whole) ? whole
                : v.TryGetValue<double>(out var d) ? (long)Math.Truncate(d)
                : (long)Math.Truncate(double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture));
        }
        throw new FormatException($"option \"{name}\" must be of type integer");
    }

    static int Integer(string name, JsonNode value) => (int)Math.Clamp(Long(name, value), int.MinValue, int.MaxValue);

    static float Float(string name, JsonNode value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? (float)double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture)
            : throw new FormatException($"option \"{name}\" must be of type float32");

    static bool Boolean(string name, JsonNode value) =>
        value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? v.GetValue<bool>()
            : throw new FormatException($"option \"{name}\" must be of type boolean");

    static string[] Strings(string name, JsonNode value)
    {
        if (value is not JsonArray array)
        {
            throw new FormatException($"option \"{name}\" must be of type array");
        }
        return [.. array.Select(item => item is JsonValue s && s.GetValueKind() == JsonValueKind.String
            ? s.GetValue<string>()
            : throw new FormatException($"option \"{name}\" must be of an array of strings"))];
    }
}
