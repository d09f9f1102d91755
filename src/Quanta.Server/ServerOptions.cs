using Microsoft.Extensions.Logging;

namespace Quanta.Server;

/// <summary>What <c>quanta serve</c> needs to start: where to listen, which store, which origins, how much a request may send.</summary>
public sealed record ServerOptions
{
    /// <summary>Extra origins allowed to call the API from a browser, comma-separated, as <c>OLLAMA_ORIGINS</c>.</summary>
    public const string OriginsVariable = "QUANTA_ORIGINS";

    /// <summary>Ollama's version this server's API follows (what <c>/api/version</c> answers, so that clients enable what they may use).</summary>
    public const string OllamaApiVersion = "0.33.0";

    public ListenAddress Listen { get; init; } = ListenAddress.Default;

    /// <summary>The model store's root folder.</summary>
    public required string StoreRoot { get; init; }

    /// <summary>The origins of <see cref="OriginsVariable"/>; the loopback ones are always allowed (<see cref="OriginPolicy"/>).</summary>
    public IReadOnlyList<string> Origins { get; init; } = [];

    /// <summary>
    /// The largest body a JSON request may have; a larger one is refused (413) from its Content-Length, before it is
    /// read. Blob uploads (<c>POST /api/blobs</c>) have no limit: they stream to disk and are checked against their digest.
    /// </summary>
    public long MaxRequestBodyBytes { get; init; } = 128L << 20;

    /// <summary>The least severe log level written (stderr).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>How models are loaded, kept and queued for (<c>QUANTA_KEEP_ALIVE</c>, <c>QUANTA_MAX_LOADED_MODELS</c>, ...).</summary>
    public Scheduling.SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>Where the log lines go: stderr unless set (the CLI passes its error writer; tests collect the lines).</summary>
    public TextWriter? LogWriter { get; init; }

    /// <summary>
    /// The options from the environment: <c>QUANTA_HOST</c>, <c>QUANTA_ORIGINS</c>, <c>QUANTA_DEBUG</c> (any value but
    /// empty or 0 logs at debug level), the scheduler's variables (<see cref="Scheduling.SchedulerOptions.FromEnvironment"/>),
    /// and the store (<paramref name="storeRoot"/>, from <c>--store</c> or <c>QUANTA_MODELS</c>).
    /// </summary>
    /// <exception cref="FormatException">A scheduler variable with a value that is not valid.</exception>
    public static ServerOptions FromEnvironment(string storeRoot) => new()
    {
        StoreRoot = storeRoot,
        Listen = ListenAddress.Parse(Environment.GetEnvironmentVariable(ListenAddress.Variable)),
        Origins = ParseOrigins(Environment.GetEnvironmentVariable(OriginsVariable)),
        Scheduler = Scheduling.SchedulerOptions.FromEnvironment(),
        LogLevel = Environment.GetEnvironmentVariable("QUANTA_DEBUG") is { Length: > 0 } debug && debug != "0" && !debug.Equals("false", StringComparison.OrdinalIgnoreCase)
            ? LogLevel.Debug
            : LogLevel.Information,
    };

    /// <summary>Ollama's <c>AllowedOrigins</c> input: the variable trimmed of spaces and quotes, split on commas.</summary>
    public static IReadOnlyList<string> ParseOrigins(string? value)
    {
        var s = (value ?? "").Trim().Trim('"', '\'');
        return s.Length == 0 ? [] : s.Split(',');
    }
}
