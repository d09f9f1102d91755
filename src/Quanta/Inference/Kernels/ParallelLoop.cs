namespace Quanta.Inference.Kernels;

/// <summary>
/// Independent items (a chunk's rows of logits, a batch's tokens) handed out to a <see cref="WorkerPool"/>'s
/// threads one at a time from a shared counter, as llama-perplexity's <c>process_logits</c> hands rows to its
/// workers. Each item writes only its own results; callers that need a sum add the items' results up in item order
/// afterwards, so what they get is one thread's result, bit for bit.
/// </summary>
internal sealed class ParallelLoop(WorkerPool pool) : IParallelWork
{
    readonly WorkerPool _pool = pool ?? throw new ArgumentNullException(nameof(pool));
    Action<int>? _body;
    int _count;
    int _next;

    /// <summary>Runs <paramref name="body"/> for 0..<paramref name="count"/>−1 on every thread and returns when all are done.</summary>
    public void For(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        (_body, _count, _next) = (body, count, 0);
        try
        {
            _pool.Run(this);
        }
        finally
        {
            _body = null;
        }
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        var body = _body!;
        while (true)
        {
            var i = Interlocked.Increment(ref _next) - 1;
            if (i >= _count)
            {
                return;
            }
            body(i);
        }
    }
}
