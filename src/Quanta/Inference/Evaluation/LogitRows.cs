using Quanta.Inference.Kernels;

namespace Quanta.Inference.Evaluation;

/// <summary>
/// A chunk's rows of logits handed out to the forward pass's threads one at a time from a shared counter, as
/// llama-perplexity's <c>process_logits</c> hands them to its workers: each row's log-softmax (an exponential per
/// vocabulary entry) is independent of the others. Unlike llama-perplexity, which adds each worker's sums into the
/// total in whatever order the workers finish, the callers keep each row's result in its slot and add them up in row
/// order afterwards, so the statistics are those of one thread, bit for bit.
/// </summary>
internal sealed class LogitRows(WorkerPool pool) : IParallelWork
{
    readonly WorkerPool _pool = pool ?? throw new ArgumentNullException(nameof(pool));
    Action<int>? _row;
    int _count;
    int _next;

    /// <summary>Runs <paramref name="row"/> for 0..<paramref name="count"/>−1 on every thread and returns when all are done.</summary>
    public void ForEach(int count, Action<int> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        (_row, _count, _next) = (row, count, 0);
        try
        {
            _pool.Run(this);
        }
        finally
        {
            _row = null;
        }
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        var row = _row!;
        while (true)
        {
            var i = Interlocked.Increment(ref _next) - 1;
            if (i >= _count)
            {
                return;
            }
            row(i);
        }
    }
}
