using System.Globalization;

namespace Quanta.Server.Scheduling;

/// <summary>
/// How <c>quanta serve</c> keeps models loaded, as Ollama's scheduler is configured (envconfig): <c>QUANTA_KEEP_ALIVE</c>
/// (default 5 minutes), <c>QUANTA_MAX_LOADED_MODELS</c> (default 3, Ollama's for a CPU), <c>QUANTA_MAX_QUEUE</c>
/// (default 512: requests waiting beyond that are refused with 503) and <c>QUANTA_NUM_PARALLEL</c> (default 4).
/// </summary>
/// <remarks>
/// A loaded model decodes up to <see cref="NumParallel"/> requests together (<see cref="BatchDecoder"/>); the others
/// wait in the queue, in order.
/// </remarks>
public sealed record SchedulerOptions
{
    public TimeSpan KeepAlive { get; init; } = Scheduling.KeepAlive.Default;

    public int MaxLoadedModels { get; init; } = 3;

    public int MaxQueue { get; init; } = 512;

    public int NumParallel { get; init; } = 4;

    /// <summary>
    /// The most prompt tokens one decoding step evaluates (shared among the prompts waiting): a long prompt is
    /// evaluated over several steps, so the requests already generating go on between its pieces.
    /// </summary>
    public int PromptTokensPerStep { get; init; } = 256;

    /// <summary>
    /// The memory the loaded models may take together (their <see cref="ModelMemory"/> estimates); null: what the
    /// machine has available (<see cref="ModelMemory.Available"/>) plus what the loaded models hold. Set by tests.
    /// </summary>
    public long? MemoryBudget { get; init; }

    /// <summary>The options from the environment.</summary>
    /// <exception cref="FormatException">A variable that is set but not a valid value; the message names it.</exception>
    public static SchedulerOptions FromEnvironment(Func<string, string?>? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariable;
        var defaults = new SchedulerOptions();
        return new SchedulerOptions
        {
            KeepAlive = Scheduling.KeepAlive.FromEnvironment(variables("QUANTA_KEEP_ALIVE")),
            MaxLoadedModels = Positive(variables, "QUANTA_MAX_LOADED_MODELS", defaults.MaxLoadedModels),
            MaxQueue = Positive(variables, "QUANTA_MAX_QUEUE", defaults.MaxQueue),
            NumParallel = Positive(variables, "QUANTA_NUM_PARALLEL", defaults.NumParallel),
        };
    }

    /// <summary>A positive integer; unset, empty or 0 is the default (as Ollama treats 0).</summary>
    static int Positive(Func<string, string?> variables, string name, int fallback)
    {
        var text = variables(name)?.Trim().Trim('"', '\'');
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"{name}: \"{text}\" is not a whole number");
        }
        return value == 0 ? fallback : value;
    }
}
