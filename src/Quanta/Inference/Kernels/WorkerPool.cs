namespace Quanta.Inference.Kernels;

/// <summary>Work split across the threads of a <see cref="WorkerPool"/>; each thread gets its index.</summary>
public interface IParallelWork
{
    void Execute(int thread, int threadCount);
}

/// <summary>
/// A fixed set of threads that run one <see cref="IParallelWork"/> at a time, the caller's thread taking part as
/// thread 0. Starting a run allocates nothing, so a forward pass can hand out its kernels for every token.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim[] _start;
    readonly CountdownEvent _done;
    IParallelWork? _work;
    Exception? _failure;
    volatile bool _stopping;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _start = new SemaphoreSlim[threadCount];
        _threads = new Thread[threadCount];
        _done = new CountdownEvent(1);
        for (var i = 1; i < threadCount; i++)
        {
            _start[i] = new SemaphoreSlim(0);
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
        _done.Reset(ThreadCount - 1);
        for (var i = 1; i < ThreadCount; i++)
        {
            _start[i].Release();
        }
        try
        {
            work.Execute(0, ThreadCount);
        }
        finally
        {
            _done.Wait();
            _work = null;
        }
        if (_failure is { } failure)
        {
            throw new AggregateException(failure);
        }
    }

    void Loop(int index)
    {
        while (true)
        {
            _start[index].Wait();
            if (_stopping)
            {
                return;
            }
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
                _done.Signal();
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
        for (var i = 1; i < ThreadCount; i++)
        {
            _start[i].Release();
            _threads[i].Join();
            _start[i].Dispose();
        }
        _done.Dispose();
    }
}
