using System.Text;
using Quanta.Server.Generation;
using Quanta.Server.Http;

namespace Quanta.Server.OpenAi;

/// <summary>
/// <c>POST /v1/chat/completions</c>, as Ollama's compatibility layer answers it: the request mapped onto a chat
/// (<see cref="OpenAiMapping"/>), the answer as a <c>chat.completion</c>, or streamed as <c>chat.completion.chunk</c>
/// events ending with <c>data: [DONE]</c> (after a usage chunk when <c>stream_options.include_usage</c>); tool calls in
/// <c>tool_calls</c> with <c>finish_reason: "tool_calls"</c>; errors as OpenAI's error object.
/// </summary>
internal static class ChatCompletionsEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/v1/chat/completions", HandleAsync);

    static async Task HandleAsync(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OpenAiJson.Default.ChatCompletionRequest).ConfigureAwait(false);
        if (request.Messages is not { Count: > 0 } messages)
        {
            throw ApiException.BadRequest("[] is too short - 'messages'");
        }
        var stored = RequestMapping.Load(context, request.Model);
        var requested = request.Model!;
        var prompt = OpenAiMapping.Messages(messages);
        RequestMapping.CheckImages(stored, requested, prompt.Any(m => m.Images.Count > 0));
        var tools = RequestMapping.Tools(request.Tools);
        var chat = new Inference.Chat.ChatRequest(prompt)
        {
            Options = OpenAiMapping.Options(request.Stop, request.MaxCompletionTokens ?? request.MaxTokens, request.Temperature, request.TopP, request.Seed, request.FrequencyPenalty, request.PresencePenalty),
            Format = OpenAiMapping.Format(request.ResponseFormat),
            Think = request.ReasoningEffort is { } effort ? RequestMapping.Think(OpenAiMapping.Text(effort)) : null,
            Tools = tools,
        };
        RequestMapping.Validate(chat);

        var scheduler = RequestMapping.Scheduler(context);
        using var cancellation = RequestMapping.Cancellation(context);
        var output = new SseStream(context);
        var id = OpenAiMapping.Id("chatcmpl");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var content = new StringBuilder();
        var reasoning = new StringBuilder();
        var calls = new List<ChatCompletionToolCall>();
        ChatCompletion Chunk(IReadOnlyList<ChatCompletionChoice> choices, Usage? usage = null) => new()
        {
            Id = id,
            Object = request.Stream ? "chat.completion.chunk" : "chat.completion",
            Created = created,
            Model = requested,
            Choices = choices,
            Usage = usage,
        };
        try
        {
            using var lease = await scheduler.AcquireAsync(stored, null, ChatGeneration.ContextLength(stored, chat), cancellation.Token).ConfigureAwait(false);
            var session = lease.Runner.SessionFor(stored);
            var parser = RequestMapping.ToolParser(session, tools);
            await foreach (var piece in ChatGeneration.RunAsync(lease, (sequence, emit, token) => session.Chat(chat, sequence, emit, token), parser, cancellation.Token).ConfigureAwait(false))
            {
                content.Append(piece.Content);
                reasoning.Append(piece.Thinking);
                var pieceCalls = piece.ToolCalls.Select(c => OpenAiMapping.ToOpenAi(c, request.Stream)).ToList();
                calls.AddRange(pieceCalls);
                if (request.Stream && !(piece.Result is not null && piece.Content.Length == 0 && piece.Thinking.Length == 0 && pieceCalls.Count == 0))
                {
                    var delta = new ChatCompletionMessage
                    {
                        Role = "assistant",
                        Content = OpenAiMapping.Text(piece.Content),
                        Reasoning = piece.Thinking.Length > 0 ? piece.Thinking : null,
                        ToolCalls = pieceCalls.Count > 0 ? pieceCalls : null,
                    };
                    await output.WriteAsync(Chunk([new ChatCompletionChoice { Delta = delta }]), OpenAiJson.Default.ChatCompletion).ConfigureAwait(false);
                }
                if (piece.Result is not { } result)
                {
                    continue;
                }
                var finish = OpenAiMapping.FinishReason(result, calls.Count > 0);
                if (!request.Stream)
                {
                    var message = new ChatCompletionMessage
                    {
                        Role = "assistant",
                        Content = OpenAiMapping.Text(content.ToString()),
                        Reasoning = reasoning.Length > 0 ? reasoning.ToString() : null,
                        ToolCalls = calls.Count > 0 ? calls : null,
                    };
                    await ApiJson.WriteAsync(context, Chunk([new ChatCompletionChoice { Message = message, FinishReason = finish }], OpenAiMapping.Usage(result)), OpenAiJson.Default.ChatCompletion).ConfigureAwait(false);
                    return;
                }
                var last = new ChatCompletionMessage { Role = "assistant", Content = OpenAiMapping.Text("") };
                await output.WriteAsync(Chunk([new ChatCompletionChoice { Delta = last, FinishReason = finish }]), OpenAiJson.Default.ChatCompletion).ConfigureAwait(false);
                if (request.StreamOptions?.IncludeUsage == true)
                {
                    await output.WriteAsync(Chunk([], OpenAiMapping.Usage(result)), OpenAiJson.Default.ChatCompletion).ConfigureAwait(false);
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
