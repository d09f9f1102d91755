using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// The spinning pool: every run reaches every thread exactly once and returns only after all have finished,
/// whether the workers are still spinning (runs back to back) or asleep (runs far apart); failures come back.
/// </summary>
public sealed class WorkerPoolTests
{
    sealed class CountingWork(int threads) : IParallelWork
    {
        public int[] Calls { get; } = new int[threads];

        public void Execute(int thread, int threadCount)
        {
            Assert.Equal(Calls.Length, threadCount);
            Thread.SpinWait(50 * (thread + 1));
            Interlocked.Increment(ref Calls[thread]);
        }
    }

    sealed class FailingWork : IParallelWork
    {
        public void Execute(int thread, int threadCount)
        {
            if (thread == threadCount - 1)
            {
                throw new InvalidOperationException("worker failed");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Back_to_back_runs_reach_every_thread_once_each(int threads)
    {
        using var pool = new WorkerPool(threads);
        var work = new CountingWork(threads);
        for (var run = 1; run <= 500; run++)
        {
            pool.Run(work);
            // Run returns only when every thread has finished this run.
            Assert.All(work.Calls, calls => Assert.Equal(run, calls));
        }
    }

    [Fact]
    public void Workers_that_fell_asleep_wake_for_the_next_run()
    {
        using var pool = new WorkerPool(3);
        var work = new CountingWork(3);
        for (var run = 1; run <= 3; run++)
        {
            // Longer than the spinning phase: the workers are asleep when the run starts.
            Thread.Sleep(100);
            pool.Run(work);
            Assert.All(work.Calls, calls => Assert.Equal(run, calls));
        }
    }

    [Fact]
    public void A_worker_failure_is_rethrown_and_the_pool_stays_usable()
    {
        using var pool = new WorkerPool(2);
        var failure = Assert.Throws<AggregateException>(() => pool.Run(new FailingWork()));
        Assert.IsType<InvalidOperationException>(failure.InnerException);
        var work = new CountingWork(2);
        pool.Run(work);
        Assert.Equal([1, 1], work.Calls);
    }

    [Fact]
    public void A_disposed_pool_refuses_work()
    {
        var pool = new WorkerPool(2);
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new CountingWork(2)));
    }
}
