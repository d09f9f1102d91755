using Quanta.Inference.Chat;

namespace Quanta.Server.Scheduling;

/// <summary>
/// A request's hold on a loaded model and one of its generation slots, from <see cref="ModelScheduler.AcquireAsync"/>.
/// Disposing it gives the slot back and starts the model's keep-alive (or unloads it at once for a keep-alive of 0).
/// </summary>
public sealed class ModelLease : IDisposable
{
    readonly ModelScheduler _scheduler;
    int _released;

    internal ModelLease(ModelScheduler scheduler, ModelRunner runner, TimeSpan keepAlive, bool loadedNow)
    {
        _scheduler = scheduler;
        Runner = runner;
        KeepAlive = keepAlive;
        LoadedNow = loadedNow;
    }

    public ModelRunner Runner { get; }

    public ChatModel Model => Runner.Model;

    /// <summary>How long the model stays loaded after this request.</summary>
    public TimeSpan KeepAlive { get; }

    /// <summary>Whether this request's acquisition loaded the model.</summary>
    public bool LoadedNow { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _scheduler.Release(Runner, KeepAlive);
        }
    }
}
