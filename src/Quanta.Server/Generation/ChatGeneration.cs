using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Quanta.Inference.Chat;
using Quanta.Server.Scheduling;

namespace Quanta.Server.Generation;

/// <summary>
/// Runs one generation on a loaded model for an endpoint: the request's session works on a thread of its own, in the
/// lease's sequence of the model's batch (its tokens decode with the other requests'; no server thread waits on it), its pieces come back through a channel as they are made, tool calls are taken
/// out of the content when the request has tools, and the last piece carries the result. Ending the enumeration early
/// (the client went away, the server stops) cancels the generation between two tokens and waits for it, so the
/// sequence is free again before the lease is given back; a generation that ends frees its sequence at once.
/// </summary>
internal static class ChatGeneration
{
    /// <summary>
    /// What <see cref="ModelScheduler.AcquireAsync(Store.StoredModel, TimeSpan?, Func{ModelRunner, int}?, CancellationToken)"/>
    /// needs to give a generation a sequence: the request's context length (<c>num_ctx</c> over the model's parameters).
    /// </summary>
    public static Func<ModelRunner, int> ContextLength(Store.StoredModel stored, ChatRequest request) => runner =>
    {
        var session = runner.SessionFor(stored);
        return session.ContextLength(session.Resolve(request));
    };

    /// <param name="lease">The model and the request's sequence, held for the whole generation.</param>
    /// <param name="work">The generation: the session's <c>Chat</c> or <c>Generate</c>, given the sequence, the delta callback and the token.</param>
    /// <param name="tools">The tool-call parser of a request with tools, else null.</param>
    public static async IAsyncEnumerable<GenerationPiece> RunAsync(
        ModelLease lease,
        Func<IChatSequence, Action<ChatDelta>, CancellationToken, ChatResult> work,
        ToolCallParser? tools,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(work);
        var sequence = lease.Sequence ?? throw new ArgumentException("the lease holds no sequence", nameof(lease));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<ChatDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var generation = Task.Factory.StartNew(() =>
        {
            try
            {
                return work(sequence, delta => channel.Writer.TryWrite(delta), stop.Token);
            }
            finally
            {
                // The next request may have the sequence while this one's last pieces are still being written.
                sequence.Dispose();
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await foreach (var delta in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                var piece = tools is null
                    ? new GenerationPiece(delta.Thinking, delta.Content, [])
                    : Parse(tools, delta);
                if (!piece.IsEmpty)
                {
                    yield return piece;
                }
            }
            var result = await generation.ConfigureAwait(false);
            yield return new GenerationPiece("", tools?.Content() ?? "", [], result);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await generation.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already seen by the consumer (the await above), or the consumer stopped early: either way the
                // generation is over and the model is free.
            }
        }
    }

    static GenerationPiece Parse(ToolCallParser tools, ChatDelta delta)
    {
        var (calls, content) = delta.Content.Length > 0 ? tools.Add(delta.Content) : ([], "");
        return new GenerationPiece(delta.Thinking, content, calls);
    }
}
