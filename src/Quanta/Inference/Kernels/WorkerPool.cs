namespace Quanta.Inference.Kernels;

/// <summary>Work split across the threads of a <see cref="WorkerPool"/>; each thread gets its index.</summary>
public interface IParallelWork
{
    void Execute(int thread, int threadCount);
}

/// <summary>
/// A fixed set of threads that run one <see cref="IParallelWork"/> at a time, the caller's thread taking part as
/// thread 0. A token's forward pass is dozens of small products, so, as ggml's thread pool does, the workers spin
/// on a generation counter for a while after each run instead of sleeping at once: waking a sleeping thread costs
/// more than most of those products. The spinning yields the processor between checks (the machine may have
/// fewer free cores than threads), and a worker that finds nothing for <see cref="SpinTicks"/> sleeps until the
/// next run. Starting a run allocates nothing.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>How long a worker spins before it sleeps: a millisecond, longer than a token's gaps between products.</summary>
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000;

    readonly Thread[] _threads;
    readonly object _gate = new();
    IParallelWork? _work;
    Exception? _failure;
    int _generation;
    int _sleepers;
    int _pending;
    volatile bool _stopping;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _threads = new Thread[threadCount];
        for (var i = 1; i < threadCount; i++)
        {
            var index = i;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"quanta-kernel-{i}" };
            _threads[i].Start();
        }
    }

    public int ThreadCount { get; }

    /// <summary>Runs <paramref name="work"/> on every thread and returns when all have finished.</summary>
    public void Run(IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_stopping, this);
        if (ThreadCount == 1)
        {
            work.Execute(0, 1);
            return;
        }
        _work = work;
        _failure = null;
        Volatile.Write(ref _pending, ThreadCount - 1);
        // A full fence (Interlocked) between publishing the run and reading _sleepers; a worker going to sleep
        // increments _sleepers and then rereads _generation under the lock, so one of the two always sees the other.
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }
        try
        {
            work.Execute(0, ThreadCount);
        }
        finally
        {
            var spinner = default(SpinWait);
            while (Volatile.Read(ref _pending) > 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            _work = null;
        }
        if (_failure is { } failure)
        {
            throw new AggregateException(failure);
        }
    }

    void Loop(int index)
    {
        var seen = 0;
        while (true)
        {
            var spinner = default(SpinWait);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            if (_stopping)
            {
                return;
            }
            seen = Volatile.Read(ref _generation);
            try
            {
                _work!.Execute(index, ThreadCount);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        _stopping = true;
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
        for (var i = 1; i < ThreadCount; i++)
        {
            _threads[i].Join();
        }
    }
}
