using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Quanta.Formats.Gguf;
using Quanta.Inference.Chat;
using Quanta.Inference.Embeddings;
using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>POST /api/embed</c>, as Ollama's EmbedHandler: <c>input</c> a string or a list of strings (an empty string or no
/// input loads the model and answers no embeddings), each embedded on its own (<see cref="TextEmbeddings"/>: the
/// file's pooling), normalised, then cut to <c>dimensions</c> and normalised again; an input longer than the context
/// (<c>min(num_ctx, the model's)</c>) is cut unless <c>truncate</c> is false (then 400). <c>keep_alive</c> is read but
/// models are not kept between requests yet: each request loads its model through <see cref="LoadModel"/>, the one
/// place a scheduler takes over.
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
        var result = await RunAsync(context, name, request.Model!, inputs, request.Truncate ?? true, request.Dimensions, request.Options).ConfigureAwait(false);
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

    /// <summary>What an embedding request produced: one vector per input, the tokens evaluated, the load time.</summary>
    internal sealed record Result(IReadOnlyList<float[]> Vectors, int Tokens, long LoadNanoseconds);

    /// <summary>
    /// Loads the model and embeds each input: normalised and cut to <paramref name="dimensions"/> (Ollama's
    /// <c>/api/embed</c>), or, with <paramref name="raw"/>, the runner's vector as it is (the legacy <c>/api/embeddings</c>).
    /// </summary>
    /// <exception cref="ApiException">404 for an unknown model, 400 for an input too long to take, 500 for a model that cannot run.</exception>
    internal static async Task<Result> RunAsync(
        HttpContext context, ModelName name, string requested, IReadOnlyList<string> inputs, bool truncate, int dimensions,
        Dictionary<string, JsonElement>? options, bool raw = false)
    {
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        var cancellationToken = context.RequestAborted;
        var contextOption = options is not null && options.TryGetValue("num_ctx", out var numCtx) && numCtx.ValueKind == JsonValueKind.Number && numCtx.TryGetInt32(out var n) && n > 0
            ? n
            : ChatParameters.DefaultContextLength;
        return await Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            using var model = LoadModel(store, name, requested, cancellationToken);
            var loaded = (long)clock.Elapsed.TotalNanoseconds;
            var train = model.TrainingContextLength;
            var contextLength = train > 0 ? Math.Min(contextOption, train) : contextOption;
            var vectors = new List<float[]>(inputs.Count);
            var tokens = 0;
            foreach (var text in inputs)
            {
                TextEmbedding embedding;
                try
                {
                    embedding = TextEmbeddings.Embed(model.Model, model.Tokenizer, text, contextLength, truncate, cancellationToken);
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

    /// <summary>
    /// The one place the embedding endpoints get a model: loaded from the store for this request and disposed after it.
    /// The scheduler (keep_alive, QUANTA_NUM_PARALLEL) replaces this method.
    /// </summary>
    /// <exception cref="ApiException">404 for an unknown model; 500 for a file that cannot run.</exception>
    internal static ChatModel LoadModel(ModelStore store, ModelName name, string requested, CancellationToken cancellationToken)
    {
        StoredModel stored;
        try
        {
            stored = StoredModel.Load(store, name);
        }
        catch (ModelNotFoundException e)
        {
            throw ApiException.NotFound($"model '{requested}' not found", e);
        }
        try
        {
            return ChatModel.Load(stored.ModelPath, threads: 0, cancellationToken);
        }
        catch (Exception e) when (e is GgufFormatException or Quanta.Inference.Tokenizers.VocabularyFormatException)
        {
            throw new ApiException(StatusCodes.Status500InternalServerError, e.Message, e);
        }
    }
}
