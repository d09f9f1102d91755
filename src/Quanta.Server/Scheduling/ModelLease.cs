using Quanta.Inference.Chat;

namespace Quanta.Server.Scheduling;

/// <summary>
/// A request's hold on a loaded model and, for a generation, one of its sequences, from
/// <see cref="ModelScheduler.AcquireAsync"/>. Disposing it gives the sequence back and starts the model's keep-alive (or
/// unloads it at once for a keep-alive of 0).
/// </summary>
public sealed class ModelLease : IDisposable
{
    readonly ModelScheduler _scheduler;
    int _released;

    internal ModelLease(ModelScheduler scheduler, ModelRunner runner, TimeSpan keepAlive, bool loadedNow, BatchSequence? sequence)
    {
        _scheduler = scheduler;
        Sequence = sequence;
        Runner = runner;
        KeepAlive = keepAlive;
        LoadedNow = loadedNow;
    }

    public ModelRunner Runner { get; }

    public ChatModel Model => Runner.Model;

    /// <summary>The request's sequence of the model's batch, when it was acquired for a generation.</summary>
    public BatchSequence? Sequence { get; }

    /// <summary>How long the model stays loaded after this request.</summary>
    public TimeSpan KeepAlive { get; }

    /// <summary>Whether this request's acquisition loaded the model.</summary>
    public bool LoadedNow { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Sequence?.Dispose();
            _scheduler.Release(Runner, KeepAlive);
        }
    }
}
