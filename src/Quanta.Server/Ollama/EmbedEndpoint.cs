using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Quanta.Formats.Gguf;
using Quanta.Inference.Chat;
using Quanta.Inference.Embeddings;
using Quanta.Server.Generation;
using Quanta.Server.Http;
using Quanta.Server.Scheduling;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>POST /api/embed</c>, as Ollama's EmbedHandler: <c>input</c> a string or a list of strings (an empty string or no
/// input loads the model and answers no embeddings), each embedded on its own (<see cref="TextEmbeddings"/>: the
/// file's pooling), normalised, then cut to <c>dimensions</c> and normalised again; an input longer than the context
/// (<c>min(num_ctx, the model's)</c>) is cut unless <c>truncate</c> is false (then 400). The model comes from the
/// server's scheduler and stays loaded for <c>keep_alive</c>, as after a generation.
/// </summary>
internal static class EmbedEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/api/embed", Embed);

    static async Task Embed(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.EmbedRequest).ConfigureAwait(false);
        var name = ModelNames.Parse(request.Model);
        var inputs = Inputs(request.Input);
        var result = await RunAsync(context, name, request.Model!, [.. inputs.Select(Input.FromText)], request.Truncate ?? true, request.Dimensions, request.Options, keepAlive: request.KeepAlive).ConfigureAwait(false);
        var response = new EmbedResponse
        {
            Model = request.Model!,
            Embeddings = result.Vectors,
            TotalDuration = (long)Stopwatch.GetElapsedTime(start).TotalNanoseconds,
            LoadDuration = result.LoadNanoseconds,
            PromptEvalCount = result.Tokens,
        };
        await ApiJson.WriteAsync(context, response, OllamaJson.Default.EmbedResponse).ConfigureAwait(false);
    }

    /// <summary>Ollama's reading of <c>input</c>: a non-empty string, or a list whose items are all strings.</summary>
    static List<string> Inputs(JsonElement? input)
    {
        var inputs = new List<string>();
        switch (input?.ValueKind)
        {
            case null or JsonValueKind.Null or JsonValueKind.Undefined:
                break;
            case JsonValueKind.String:
                if (input.Value.GetString() is { Length: > 0 } text)
                {
                    inputs.Add(text);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in input.Value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw ApiException.BadRequest("invalid input type");
                    }
                    inputs.Add(item.GetString()!);
                }
                break;
            default:
                throw ApiException.BadRequest("invalid input type");
        }
        return inputs;
    }

    /// <summary>One input of an embedding request: a text, or (OpenAI's <c>input</c> as integers) token ids.</summary>
    internal sealed record Input(string? Text, int[]? Tokens)
    {
        public static Input FromText(string text) => new(text, null);
    }

    /// <summary>What an embedding request produced: one vector per input, the tokens evaluated, the load time.</summary>
    internal sealed record Result(IReadOnlyList<float[]> Vectors, int Tokens, long LoadNanoseconds);

    /// <summary>
    /// Embeds each input with the model the scheduler holds (loaded on demand, kept for <paramref name="keepAlive"/>
    /// as a generation keeps it): normalised and cut to <paramref name="dimensions"/> (Ollama's <c>/api/embed</c>), or,
    /// with <paramref name="raw"/>, the runner's vector as it is (the legacy <c>/api/embeddings</c>). Each input is
    /// embedded between two decoding steps of the model's batch (the forward pass runs one call at a time).
    /// </summary>
    /// <exception cref="ApiException">404 for an unknown model, 400 for an input too long to take, 500 for a model that cannot run.</exception>
    internal static async Task<Result> RunAsync(
        HttpContext context, ModelName name, string requested, IReadOnlyList<Input> inputs, bool truncate, int dimensions,
        Dictionary<string, JsonElement>? options, bool raw = false, JsonElement? keepAlive = null)
    {
        var stored = LoadStored(context, name, requested);
        var keep = RequestMapping.KeepAliveOf(keepAlive);
        var scheduler = RequestMapping.Scheduler(context);
        using var cancellation = RequestMapping.Cancellation(context);
        var cancellationToken = cancellation.Token;
        var contextOption = options is not null && options.TryGetValue("num_ctx", out var numCtx) && numCtx.ValueKind == JsonValueKind.Number && numCtx.TryGetInt32(out var n) && n > 0
            ? n
            : ChatParameters.DefaultContextLength;
        var clock = Stopwatch.StartNew();
        ModelLease lease;
        try
        {
            lease = await scheduler.AcquireAsync(stored, keep, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GgufFormatException or Quanta.Inference.Tokenizers.VocabularyFormatException)
        {
            throw new ApiException(StatusCodes.Status500InternalServerError, e.Message, e);
        }
        using (lease)
        {
            var loaded = lease.LoadedNow ? (long)clock.Elapsed.TotalNanoseconds : 0;
            var model = lease.Model;
            return await Task.Run(() =>
            {
                var train = model.TrainingContextLength;
                var contextLength = train > 0 ? Math.Min(contextOption, train) : contextOption;
                var vectors = new List<float[]>(inputs.Count);
                var tokens = 0;
                foreach (var input in inputs)
                {
                    TextEmbedding embedding;
                    try
                    {
                        // Between two decoding steps of the model's batch: the forward pass runs one call at a time.
                        embedding = lease.Runner.Decoder.Exclusive(() => input.Tokens is { } ids
                            ? TextEmbeddings.Embed(model.Model, ids, contextLength, truncate, cancellationToken)
                            : TextEmbeddings.Embed(model.Model, model.Tokenizer, input.Text!, contextLength, truncate, cancellationToken));
                    }
                    catch (EmbeddingInputException e)
                    {
                        throw ApiException.BadRequest(e.Message, e);
                    }
                    catch (NotSupportedException e)
                    {
                        throw new ApiException(StatusCodes.Status500InternalServerError, e.Message, e);
                    }
                    try
                    {
                        vectors.Add(raw ? embedding.Vector : EmbeddingVectors.ForResponse(embedding.Vector, dimensions));
                    }
                    catch (ArgumentException e)
                    {
                        throw new ApiException(StatusCodes.Status500InternalServerError, e.Message, e);
                    }
                    tokens += embedding.TokenCount;
                }
                return new Result(vectors, tokens, loaded);
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The stored model <paramref name="name"/> names.</summary>
    /// <exception cref="ApiException">404 for an unknown model.</exception>
    static StoredModel LoadStored(HttpContext context, ModelName name, string requested)
    {
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        try
        {
            return StoredModel.Load(store, name);
        }
        catch (ModelNotFoundException e)
        {
            throw ApiException.NotFound($"model '{requested}' not found", e);
        }
    }
}
