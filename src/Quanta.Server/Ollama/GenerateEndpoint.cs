using System.Text;
using Quanta.Inference.Chat;
using Quanta.Server.Generation;
using Quanta.Server.Http;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>POST /api/generate</c>, as Ollama's GenerateHandler answers it: NDJSON chunks (<c>response</c>, <c>thinking</c>)
/// unless <c>stream</c> is false, then a last chunk with <c>done</c>, <c>done_reason</c>, <c>context</c> (the tokens of
/// prompt and answer, to continue from; not for a raw prompt) and the durations in nanoseconds. An empty prompt loads
/// the model (<c>done_reason: "load"</c>), or with <c>keep_alive: 0</c> unloads it (<c>"unload"</c>).
/// </summary>
internal static class GenerateEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/api/generate", HandleAsync);

    static async Task HandleAsync(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.GenerateRequest).ConfigureAwait(false);
        var stored = RequestMapping.Load(context, request.Model);
        var requested = request.Model!;
        var keepAlive = RequestMapping.KeepAliveOf(request.KeepAlive);
        var scheduler = RequestMapping.Scheduler(context);
        var hasImages = request.Images is { Count: > 0 };
        using var cancellation = RequestMapping.Cancellation(context);
        if (string.IsNullOrEmpty(request.Prompt) && !hasImages)
        {
            if (keepAlive == TimeSpan.Zero)
            {
                scheduler.Expire(stored.ModelPath);
                await Done(context, requested, "unload").ConfigureAwait(false);
                return;
            }
            using (await scheduler.AcquireAsync(stored, keepAlive, cancellation.Token).ConfigureAwait(false))
            {
            }
            await Done(context, requested, "load").ConfigureAwait(false);
            return;
        }
        RequestMapping.CheckImages(stored, requested, hasImages);
        var think = RequestMapping.Think(request.Think);
        var chat = new Inference.Chat.ChatRequest([])
        {
            Options = RequestMapping.Options(request.Options),
            Format = RequestMapping.Format(request.Format),
            Think = think,
        };
        RequestMapping.Validate(chat);
        var input = new GenerateInput(request.Prompt ?? "")
        {
            Raw = request.Raw,
            System = request.System,
            Template = request.Template,
            Suffix = request.Suffix,
            Context = request.Context,
            Think = think,
            ImageCount = request.Images?.Count ?? 0,
        };
        var images = request.Images ?? [];

        var output = new NdjsonStream(context);
        var stream = request.Stream ?? true;
        var response = new StringBuilder();
        var thinking = new StringBuilder();
        try
        {
            using var lease = await scheduler.AcquireAsync(stored, keepAlive, ChatGeneration.ContextLength(stored, chat), cancellation.Token).ConfigureAwait(false);
            var session = lease.Runner.SessionFor(stored);
            var prompt = GeneratePrompt.Build(session, requested, input);
            await foreach (var piece in ChatGeneration.RunAsync(lease, (sequence, emit, token) => session.Generate(prompt, images, chat, sequence, emit, token), null, cancellation.Token).ConfigureAwait(false))
            {
                response.Append(piece.Content);
                thinking.Append(piece.Thinking);
                if (piece.Result is { } result)
                {
                    var done = Chunk(requested, stream ? "" : response.ToString(), stream ? piece.Thinking : thinking.ToString()) with
                    {
                        Done = true,
                        DoneReason = result.DoneReason,
                        Context = request.Raw ? null : session.Tokenize(prompt + response),
                        TotalDuration = result.Statistics.TotalDuration,
                        LoadDuration = result.Statistics.LoadDuration,
                        PromptEvalCount = result.Statistics.PromptEvalCount,
                        PromptEvalDuration = result.Statistics.PromptEvalDuration,
                        EvalCount = result.Statistics.EvalCount,
                        EvalDuration = result.Statistics.EvalDuration,
                    };
                    if (stream)
                    {
                        await output.WriteAsync(done, OllamaJson.Default.GenerateResponse).ConfigureAwait(false);
                    }
                    else
                    {
                        await ApiJson.WriteAsync(context, done, OllamaJson.Default.GenerateResponse).ConfigureAwait(false);
                    }
                }
                else if (stream)
                {
                    await output.WriteAsync(Chunk(requested, piece.Content, piece.Thinking), OllamaJson.Default.GenerateResponse).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (RequestMapping.IsStopping(context))
        {
            await output.WriteErrorAsync(StatusCodes.Status503ServiceUnavailable, RequestMapping.StoppingMessage).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && output.Started)
        {
            await output.WriteErrorAsync(StatusCodes.Status500InternalServerError, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not ApiException)
        {
            throw RequestMapping.ToApiException(e);
        }
    }

    static GenerateResponse Chunk(string model, string response, string thinking) => new()
    {
        Model = model,
        CreatedAt = DateTimeOffset.UtcNow,
        Response = response,
        Thinking = thinking.Length > 0 ? thinking : null,
    };

    static Task Done(HttpContext context, string model, string reason) =>
        ApiJson.WriteAsync(context, Chunk(model, "", "") with { Done = true, DoneReason = reason }, OllamaJson.Default.GenerateResponse);
}
