using System.Text;
using Quanta.Server.Generation;
using Quanta.Server.Http;

namespace Quanta.Server.OpenAi;

/// <summary>
/// <c>POST /v1/completions</c>, as Ollama's compatibility layer answers it: the prompt (and <c>suffix</c>) through the
/// model's template as <c>/api/generate</c> takes it, the answer as a <c>text_completion</c>, or streamed as events of
/// the same object ending with <c>data: [DONE]</c> (after a usage chunk when <c>stream_options.include_usage</c>).
/// </summary>
internal static class CompletionsEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/v1/completions", HandleAsync);

    static async Task HandleAsync(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OpenAiJson.Default.CompletionRequest).ConfigureAwait(false);
        var stored = RequestMapping.Load(context, request.Model);
        var requested = request.Model!;
        var chat = new Inference.Chat.ChatRequest([])
        {
            Options = OpenAiMapping.Options(request.Stop, request.MaxTokens, request.Temperature, request.TopP, request.Seed, request.FrequencyPenalty, request.PresencePenalty),
        };
        RequestMapping.Validate(chat);
        var input = new GenerateInput(request.Prompt ?? "") { Suffix = request.Suffix };

        var scheduler = RequestMapping.Scheduler(context);
        using var cancellation = RequestMapping.Cancellation(context);
        var output = new SseStream(context);
        var id = OpenAiMapping.Id("cmpl");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var text = new StringBuilder();
        Completion Chunk(IReadOnlyList<CompletionChoice> choices, Usage? usage = null) => new()
        {
            Id = id,
            Created = created,
            Model = requested,
            Choices = choices,
            Usage = usage,
        };
        try
        {
            using var lease = await scheduler.AcquireAsync(stored, null, ChatGeneration.ContextLength(stored, chat), cancellation.Token).ConfigureAwait(false);
            var session = lease.Runner.SessionFor(stored);
            var prompt = GeneratePrompt.Build(session, requested, input);
            await foreach (var piece in ChatGeneration.RunAsync(lease, (sequence, emit, token) => session.Generate(prompt, chat, sequence, emit, token), null, cancellation.Token).ConfigureAwait(false))
            {
                text.Append(piece.Content);
                if (request.Stream && piece.Content.Length > 0)
                {
                    await output.WriteAsync(Chunk([new CompletionChoice { Text = piece.Content }]), OpenAiJson.Default.Completion).ConfigureAwait(false);
                }
                if (piece.Result is not { } result)
                {
                    continue;
                }
                var finish = OpenAiMapping.FinishReason(result, calledTools: false);
                if (!request.Stream)
                {
                    await ApiJson.WriteAsync(context, Chunk([new CompletionChoice { Text = text.ToString(), FinishReason = finish }], OpenAiMapping.Usage(result)), OpenAiJson.Default.Completion).ConfigureAwait(false);
                    return;
                }
                await output.WriteAsync(Chunk([new CompletionChoice { FinishReason = finish }]), OpenAiJson.Default.Completion).ConfigureAwait(false);
                if (request.StreamOptions?.IncludeUsage == true)
                {
                    await output.WriteAsync(Chunk([], OpenAiMapping.Usage(result)), OpenAiJson.Default.Completion).ConfigureAwait(false);
                }
                await output.WriteDoneAsync().ConfigureAwait(false);
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
}
