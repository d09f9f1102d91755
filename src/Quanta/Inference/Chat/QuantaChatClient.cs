using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Quanta.Templates.Ollama;

namespace Quanta.Inference.Chat;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a <see cref="ChatSession"/>: Quanta as a chat model of the
/// .NET AI ecosystem, answering as <c>quanta run</c> does. <see cref="ChatOptions"/> map onto Ollama's options:
/// Temperature, TopP, TopK, MaxOutputTokens (<c>num_predict</c>), StopSequences (<c>stop</c>), Seed,
/// FrequencyPenalty, PresencePenalty; Instructions become a system message; AdditionalProperties named as Ollama's
/// options (<c>num_ctx</c>, <c>min_p</c>, <c>repeat_penalty</c>...) are passed on as they are; a JSON
/// ResponseFormat constrains the answer with a grammar (its schema's, or any JSON object's), as Ollama's
/// <c>format</c>. Requests are answered one at a time.
/// </summary>
/// <example>
/// <code>
/// using var client = QuantaChatClient.Load("model.gguf");
/// var answer = await client.GetResponseAsync("Why is the sky blue?", new ChatOptions { Temperature = 0 });
/// </code>
/// </example>
public sealed class QuantaChatClient : IChatClient
{
    readonly ChatSession _session;
    readonly bool _ownsModel;
    readonly SemaphoreSlim _gate = new(1, 1);

    /// <param name="session">The session to answer with (its model's parameters, system message and template).</param>
    /// <param name="ownsModel">Dispose the session's model with the client.</param>
    public QuantaChatClient(ChatSession session, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _ownsModel = ownsModel;
        Metadata = new ChatClientMetadata("quanta", null, Path.GetFileName(session.Model.Path));
    }

    /// <summary>Loads a GGUF file and answers with its chat template and Ollama's default options.</summary>
    public static QuantaChatClient Load(string path, int threads = 0) =>
        new(new ChatSession(ChatModel.Load(path, threads)), ownsModel: true);

    /// <summary>The session requests are answered with.</summary>
    public ChatSession Session => _session;

    /// <summary>Describes the client: provider "quanta", the model file's name as the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await Task.Run(() => _session.Chat(request, null, cancellationToken), cancellationToken).ConfigureAwait(false);
            var message = new ChatMessage(ChatRole.Assistant, result.Content);
            if (result.Thinking.Length > 0)
            {
                message.Contents.Insert(0, new TextReasoningContent(result.Thinking));
            }
            return new ChatResponse(message)
            {
                FinishReason = FinishReason(result.DoneReason),
                ModelId = Metadata.DefaultModelId,
                Usage = Usage(result.Statistics),
                CreatedAt = DateTimeOffset.UtcNow,
            };
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ToRequest(messages, options);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The answer is generated on a worker thread and handed over piece by piece; a consumer that stops early
            // cancels it.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var channel = Channel.CreateUnbounded<ChatDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var responseId = Guid.NewGuid().ToString("N");
            var generation = Task.Run(() =>
            {
                try
                {
                    return _session.Chat(request, delta => channel.Writer.TryWrite(delta), stop.Token);
                }
                finally
                {
                    channel.Writer.TryComplete();
                }
            }, CancellationToken.None);
            try
            {
                await foreach (var delta in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    var update = new ChatResponseUpdate(ChatRole.Assistant, []) { ResponseId = responseId, MessageId = responseId, ModelId = Metadata.DefaultModelId };
                    if (delta.Thinking.Length > 0)
                    {
                        update.Contents.Add(new TextReasoningContent(delta.Thinking));
                    }
                    if (delta.Content.Length > 0)
                    {
                        update.Contents.Add(new TextContent(delta.Content));
                    }
                    yield return update;
                }
                var result = await generation.ConfigureAwait(false);
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(result.Statistics))])
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = Metadata.DefaultModelId,
                    FinishReason = FinishReason(result.DoneReason),
                };
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await generation.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The consumer stopped early, or the caller cancelled: the answer was cut short on purpose.
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? Metadata
            : serviceType.IsInstanceOfType(_session) ? _session
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
        if (_ownsModel)
        {
            _session.Model.Dispose();
        }
        _gate.Dispose();
    }

    /// <summary>The session request for <paramref name="messages"/> and <paramref name="options"/>.</summary>
    internal ChatRequest ToRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = new List<PromptMessage>();
        if (options?.Instructions is { Length: > 0 } instructions)
        {
            prompt.Add(new PromptMessage("system", instructions));
        }
        prompt.AddRange(messages.Select(m => new PromptMessage(m.Role.Value, m.Text)));
        // JSON output as Ollama's format: a schema when one is given, else any JSON object.
        var format = options?.ResponseFormat is ChatResponseFormatJson json
            ? json.Schema is { } schema ? schema.GetRawText() : "\"json\""
            : null;
        return new ChatRequest(prompt) { Options = ToOptions(options), Format = format };
    }

    /// <summary><see cref="ChatOptions"/> as Ollama's request options.</summary>
    internal static List<KeyValuePair<string, JsonNode?>> ToOptions(ChatOptions? options)
    {
        var list = new List<KeyValuePair<string, JsonNode?>>();
        if (options is null)
        {
            return list;
        }
        if (options.AdditionalProperties is { } extra)
        {
            foreach (var (name, value) in extra)
            {
                if (ChatParameters.Names.Contains(name))
                {
                    list.Add(new(name, value is JsonNode node ? node.DeepClone() : JsonSerializer.SerializeToNode(value)));
                }
            }
        }
        void Add(string name, JsonNode? value)
        {
            if (value is not null)
            {
                list.Add(new(name, value));
            }
        }
        Add("temperature", options.Temperature is { } t ? JsonValue.Create(t) : null);
        Add("top_p", options.TopP is { } p ? JsonValue.Create(p) : null);
        Add("top_k", options.TopK is { } k ? JsonValue.Create(k) : null);
        Add("num_predict", options.MaxOutputTokens is { } n ? JsonValue.Create(n) : null);
        Add("seed", options.Seed is { } s ? JsonValue.Create(s) : null);
        Add("frequency_penalty", options.FrequencyPenalty is { } f ? JsonValue.Create(f) : null);
        Add("presence_penalty", options.PresencePenalty is { } r ? JsonValue.Create(r) : null);
        Add("stop", options.StopSequences is { } stops ? new JsonArray([.. stops.Select(x => (JsonNode?)JsonValue.Create(x))]) : null);
        return list;
    }

    static ChatFinishReason FinishReason(string doneReason) =>
        doneReason == DoneReasons.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    static UsageDetails Usage(ChatStatistics statistics) => new()
    {
        InputTokenCount = statistics.PromptEvalCount,
        OutputTokenCount = statistics.EvalCount,
        TotalTokenCount = statistics.PromptEvalCount + statistics.EvalCount,
    };
}
