using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Server.Scheduling;

/// <summary>
/// One model file loaded by the <see cref="ModelScheduler"/>: its forward pass and KV cache (<see cref="ChatModel"/>),
/// the sessions of the stored models that use it (each with its template, system message and parameters, so that a
/// model's next request reuses the prompt it already evaluated), and its bookkeeping: requests holding it, when it
/// expires. Stored models that share a GGUF blob share its runner, as in Ollama.
/// </summary>
/// <remarks>
/// Its requests decode together in one batch (<see cref="Decoder"/>: <c>QUANTA_NUM_PARALLEL</c> sequences over one
/// KV cache); more wait for a sequence.
/// </remarks>
public sealed class ModelRunner
{
    readonly Dictionary<string, ChatSession> _sessions = new(StringComparer.Ordinal);
    readonly SchedulerOptions _options;
    BatchDecoder? _decoder;

    internal ModelRunner(StoredModel model, Task<ChatModel> loading, SchedulerOptions options)
    {
        _options = options;
        ModelPath = model.ModelPath;
        Name = model.Name.DisplayShortest;
        Digest = model.Manifest.Layers.FirstOrDefault(l => l.MediaType == MediaTypes.Model)?.Digest ?? "";
        Loading = loading;
    }

    /// <summary>The GGUF blob.</summary>
    public string ModelPath { get; }

    /// <summary>The name of the stored model that loaded it.</summary>
    public string Name { get; }

    /// <summary>The digest of the model layer.</summary>
    public string Digest { get; }

    internal Task<ChatModel> Loading { get; }

    /// <summary>The loaded model (only once <see cref="Loading"/> completed).</summary>
    public ChatModel Model => Loading.Result;

    /// <summary>The decoding loop of the loaded model (only once <see cref="Loading"/> completed).</summary>
    internal BatchDecoder Decoder
    {
        get
        {
            if (_decoder is { } decoder)
            {
                return decoder;
            }
            lock (_sessions)
            {
                return _decoder ??= new BatchDecoder(Model.Model, _options.NumParallel, _options.PromptTokensPerStep);
            }
        }
    }

    /// <summary>Stops the decoding loop (the runner is unloaded; no request holds it).</summary>
    internal void StopDecoder()
    {
        lock (_sessions)
        {
            _decoder?.Dispose();
        }
    }

    /// <summary>Requests that hold or wait for the runner; it is never unloaded while there are any.</summary>
    internal int References { get; set; }

    /// <summary>How long it stays loaded once idle (set by the latest request).</summary>
    internal TimeSpan KeepAlive { get; set; }

    /// <summary>When it will be unloaded if no request comes (far in the future while requests hold it or for keep-alive forever).</summary>
    public DateTimeOffset ExpiresAt { get; internal set; } = DateTimeOffset.MaxValue;

    /// <summary>Cancels the pending expiry.</summary>
    internal CancellationTokenSource? Expiry { get; set; }

    /// <summary>When a request last released it (for choosing which idle runner to unload first).</summary>
    internal long LastUsed { get; set; }

    /// <summary>The memory it was estimated to take when it was loaded (<see cref="ModelMemory.Estimate"/>).</summary>
    public long EstimatedBytes { get; internal set; }

    /// <summary>The context length of each of its sequences (what <c>/api/ps</c> shows).</summary>
    public int ContextLength { get; internal set; }

    /// <summary>A request asked for it to be unloaded (<c>keep_alive: 0</c>): it goes as soon as it is idle.</summary>
    internal bool UnloadWhenIdle { get; set; }

    /// <summary>Set once it is unloaded: nothing may use it after.</summary>
    internal bool Unloaded { get; set; }

    /// <summary>
    /// The session of <paramref name="stored"/> on this runner: the model's TEMPLATE, SYSTEM, MESSAGE and PARAMETER
    /// layers over the loaded file, as Ollama's server maps them. Only the holder of a slot may call it.
    /// </summary>
    /// <exception cref="Templates.Go.TemplateException">The stored TEMPLATE does not parse.</exception>
    /// <exception cref="Templates.Jinja.JinjaException">The GGUF's chat template does not parse.</exception>
    /// <exception cref="FormatException">A stored parameter of the wrong type.</exception>
    public ChatSession SessionFor(StoredModel stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var key = stored.Name.DisplayShortest + " " + string.Join(',', stored.Manifest.Blobs.Select(l => l.Digest));
        lock (_sessions)
        {
            if (!_sessions.TryGetValue(key, out var session))
            {
                session = new ChatSession(Model, stored.Template)
                {
                    System = stored.System ?? "",
                    Messages = [.. stored.Messages.Select(m => new PromptMessage(m.Role, m.Content))],
                    Parameters = ChatParameters.Defaults.With(Options(stored.Parameters)),
                };
                _sessions[key] = session;
            }
            return session;
        }
    }

    /// <summary>Stored parameters as the options a <see cref="ChatParameters"/> takes.</summary>
    internal static List<KeyValuePair<string, JsonNode?>> Options(ModelParameters parameters) =>
        [.. parameters.Names.Select(name => new KeyValuePair<string, JsonNode?>(name, parameters[name].DeepClone()))];
}
