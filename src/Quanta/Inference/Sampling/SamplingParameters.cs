namespace Quanta.Inference.Sampling;

/// <summary>
/// The sampling parameters llama-cli and Ollama take, with llama.cpp's defaults (<c>common_params_sampling</c>,
/// February 2025). Ollama's PARAMETER names map one to one: temperature, top_k, top_p, min_p, typical_p,
/// repeat_last_n, repeat_penalty, frequency_penalty, presence_penalty, seed, mirostat, mirostat_tau,
/// mirostat_eta; <see cref="Ollama"/> holds Ollama's defaults.
/// </summary>
public sealed record SamplingParameters
{
    /// <summary>llama.cpp's <c>LLAMA_DEFAULT_SEED</c>: a random seed per chain. Ollama's seed −1 is this value.</summary>
    public const uint RandomSeed = SamplerMath.DefaultSeed;

    /// <summary>llama-cli's defaults.</summary>
    public static SamplingParameters LlamaCli { get; } = new();

    /// <summary>Ollama's defaults (api/types.go DefaultOptions): top_p 0.9 and min_p 0; the rest as llama-cli.</summary>
    public static SamplingParameters Ollama { get; } = new() { TopP = 0.9f, MinP = 0f };

    /// <summary>Seed of the random samplers (<c>--seed</c>, <c>seed</c>); <see cref="RandomSeed"/> draws one.</summary>
    public uint Seed { get; init; } = RandomSeed;

    /// <summary>Temperature (<c>--temp</c>, <c>temperature</c>); 0 or below is greedy.</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Top-k (<c>--top-k</c>, <c>top_k</c>); 0 keeps every token.</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Top-p (<c>--top-p</c>, <c>top_p</c>); 1 disables it.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Min-p (<c>--min-p</c>, <c>min_p</c>); 0 disables it.</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>Locally typical sampling (<c>--typical</c>, <c>typical_p</c>); 1 disables it.</summary>
    public float TypicalP { get; init; } = 1f;

    /// <summary>XTC chance (<c>--xtc-probability</c>); 0 disables it.</summary>
    public float XtcProbability { get; init; }

    /// <summary>XTC threshold (<c>--xtc-threshold</c>); above 0.5 disables it.</summary>
    public float XtcThreshold { get; init; } = 0.1f;

    /// <summary>DRY penalty scale (<c>--dry-multiplier</c>); 0 disables DRY.</summary>
    public float DryMultiplier { get; init; }

    /// <summary>DRY penalty base (<c>--dry-base</c>).</summary>
    public float DryBase { get; init; } = 1.75f;

    /// <summary>Longest repetition DRY leaves alone (<c>--dry-allowed-length</c>).</summary>
    public int DryAllowedLength { get; init; } = 2;

    /// <summary>Tokens DRY searches (<c>--dry-penalty-last-n</c>); −1 is the context size, 0 disables DRY.</summary>
    public int DryPenaltyLastN { get; init; } = -1;

    /// <summary>DRY's sequence breakers (<c>--dry-sequence-breaker</c>).</summary>
    public IReadOnlyList<string> DrySequenceBreakers { get; init; } = Sampling.DrySequenceBreakers.Defaults;

    /// <summary>Dynamic temperature half-range (<c>--dynatemp-range</c>); 0 disables it.</summary>
    public float DynamicTemperatureRange { get; init; }

    /// <summary>Dynamic temperature exponent (<c>--dynatemp-exp</c>).</summary>
    public float DynamicTemperatureExponent { get; init; } = 1f;

    /// <summary>Tokens the penalties look back over (<c>--repeat-last-n</c>, <c>repeat_last_n</c>); 0 disables, −1 is the context size.</summary>
    public int RepeatLastN { get; init; } = 64;

    /// <summary>Repeat penalty (<c>--repeat-penalty</c>, <c>repeat_penalty</c>); 1 disables it.</summary>
    public float RepeatPenalty { get; init; } = 1f;

    /// <summary>Frequency penalty (<c>--frequency-penalty</c>, <c>frequency_penalty</c>).</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Presence penalty (<c>--presence-penalty</c>, <c>presence_penalty</c>).</summary>
    public float PresencePenalty { get; init; }

    /// <summary>Mirostat version (<c>--mirostat</c>, <c>mirostat</c>): 0 off, 1 or 2; replaces the filters.</summary>
    public int Mirostat { get; init; }

    /// <summary>Mirostat target surprise (<c>--mirostat-ent</c>, <c>mirostat_tau</c>).</summary>
    public float MirostatTau { get; init; } = 5f;

    /// <summary>Mirostat learning rate (<c>--mirostat-lr</c>, <c>mirostat_eta</c>).</summary>
    public float MirostatEta { get; init; } = 0.1f;

    /// <summary>The fewest candidates top-p, min-p, typical and XTC leave (<c>--min-keep</c>).</summary>
    public int MinKeep { get; init; }

    /// <summary>The filters and their order (<c>--samplers</c>), used without mirostat.</summary>
    public IReadOnlyList<SamplerStage> Samplers { get; init; } = SamplerStages.Default;

    /// <summary>Logit biases by token id (<c>--logit-bias</c>), applied first.</summary>
    public IReadOnlyList<KeyValuePair<int, float>> LogitBias { get; init; } = [];

    /// <summary>
    /// A GBNF grammar the output must follow (<c>--grammar</c>, <c>--grammar-file</c>; Ollama's
    /// <c>format</c> through <see cref="Grammar.JsonGrammar"/> and <see cref="Grammar.JsonSchemaGrammar"/>);
    /// null or empty for none. The builder needs the vocabulary to apply it.
    /// </summary>
    public string? Grammar { get; init; }

    /// <summary>The rule of <see cref="Grammar"/> the output starts from (llama.cpp's common sampler uses <c>root</c>).</summary>
    public string GrammarRoot { get; init; } = "root";
}
