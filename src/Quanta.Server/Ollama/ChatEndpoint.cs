using System.Text;
using Quanta.Server.Generation;
using Quanta.Server.Http;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>POST /api/chat</c>, as Ollama's ChatHandler answers it: the model's system message and MESSAGE layers before the
/// request's messages, its tools rendered through the template (<c>.Tools</c>) and the calls read back out of the answer
/// (<c>message.tool_calls</c>), NDJSON chunks unless <c>stream</c> is false, then a last chunk with <c>done</c>,
/// <c>done_reason</c> and the durations in nanoseconds. No messages loads the model (<c>done_reason: "load"</c>), or
/// with <c>keep_alive: 0</c> unloads it (<c>"unload"</c>).
/// </summary>
internal static class ChatEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/api/chat", HandleAsync);

    static async Task HandleAsync(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.ChatRequest).ConfigureAwait(false);
        var stored = RequestMapping.Load(context, request.Model);
        var requested = request.Model!;
        var keepAlive = RequestMapping.KeepAliveOf(request.KeepAlive);
        var scheduler = RequestMapping.Scheduler(context);
        using var cancellation = RequestMapping.Cancellation(context);
        if (request.Messages is not { Count: > 0 } messages)
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
        RequestMapping.CheckImages(stored, requested, messages.Any(m => m.Images is { Count: > 0 }));
        var tools = RequestMapping.Tools(request.Tools);
        var chat = new Inference.Chat.ChatRequest(RequestMapping.Messages(messages))
        {
            Options = RequestMapping.Options(request.Options),
            Format = RequestMapping.Format(request.Format),
            Think = RequestMapping.Think(request.Think),
            Tools = tools,
        };
        RequestMapping.Validate(chat);

        var output = new NdjsonStream(context);
        var stream = request.Stream ?? true;
        var content = new StringBuilder();
        var thinking = new StringBuilder();
        var calls = new List<ToolCall>();
        try
        {
            using var lease = await scheduler.AcquireAsync(stored, keepAlive, ChatGeneration.ContextLength(stored, chat), cancellation.Token).ConfigureAwait(false);
            var session = lease.Runner.SessionFor(stored);
            var parser = RequestMapping.ToolParser(session, tools);
            await foreach (var piece in ChatGeneration.RunAsync(lease, (sequence, emit, token) => session.Chat(chat, sequence, emit, token), parser, cancellation.Token).ConfigureAwait(false))
            {
                content.Append(piece.Content);
                thinking.Append(piece.Thinking);
                var pieceCalls = piece.ToolCalls.Select(RequestMapping.ToOllama).ToList();
                calls.AddRange(pieceCalls);
                if (piece.Result is { } result)
                {
                    var done = Chunk(requested, stream ? piece.Content : content.ToString(), stream ? piece.Thinking : thinking.ToString(), stream ? pieceCalls : calls) with
                    {
                        Done = true,
                        DoneReason = result.DoneReason,
                        TotalDuration = result.Statistics.TotalDuration,
                        LoadDuration = result.Statistics.LoadDuration,
                        PromptEvalCount = result.Statistics.PromptEvalCount,
                        PromptEvalDuration = result.Statistics.PromptEvalDuration,
                        EvalCount = result.Statistics.EvalCount,
                        EvalDuration = result.Statistics.EvalDuration,
                    };
                    if (stream)
                    {
                        await output.WriteAsync(done, OllamaJson.Default.ChatResponse).ConfigureAwait(false);
                    }
                    else
                    {
                        await ApiJson.WriteAsync(context, done, OllamaJson.Default.ChatResponse).ConfigureAwait(false);
                    }
                }
                else if (stream)
                {
                    await output.WriteAsync(Chunk(requested, piece.Content, piece.Thinking, pieceCalls), OllamaJson.Default.ChatResponse).ConfigureAwait(false);
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

    static ChatResponse Chunk(string model, string content, string thinking, IReadOnlyList<ToolCall>? calls) => new()
    {
        Model = model,
        CreatedAt = DateTimeOffset.UtcNow,
        Message = new Message
        {
            Role = "assistant",
            Content = content,
            Thinking = thinking.Length > 0 ? thinking : null,
            ToolCalls = calls is { Count: > 0 } ? calls : null,
        },
    };

    static Task Done(HttpContext context, string model, string reason) =>
        ApiJson.WriteAsync(context, Chunk(model, "", "", null) with { Done = true, DoneReason = reason }, OllamaJson.Default.ChatResponse);
}
