using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Quanta.Inference.Chat;
using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Scheduling;

/// <summary>
/// Loads models on demand and keeps them as Ollama's scheduler does (server/sched.go): a request for a model that is not
/// loaded loads it (once, however many requests wait for it), on a thread-pool thread, so no server thread is held;
/// a generation on a loaded model waits for one of its <c>QUANTA_NUM_PARALLEL</c> sequences (<see cref="BatchDecoder"/>); an idle model is unloaded when its keep-alive runs out
/// (the request's <c>keep_alive</c>, else <c>QUANTA_KEEP_ALIVE</c>; 0 unloads it as soon as it is idle, negative
/// never); with <c>QUANTA_MAX_LOADED_MODELS</c> models loaded, or when a new one would not fit in memory beside the
/// loaded ones (<see cref="ModelMemory"/>), it first unloads the idle models used least recently, or waits until one
/// is idle; one that cannot fit alone is refused (500, Ollama's message). More than <c>QUANTA_MAX_QUEUE</c> waiting requests are refused with 503.
/// </summary>
public sealed partial class ModelScheduler : IAsyncDisposable
{
    /// <summary>Ollama's answer to a full queue (server/sched.go, <c>ErrMaxQueue</c>).</summary>
    public const string QueueFullMessage = "server busy, please try again.  maximum pending requests exceeded";

    readonly object _gate = new();
    readonly Dictionary<string, ModelRunner> _runners = new(StringComparer.Ordinal);
    readonly SchedulerOptions _options;
    readonly ILogger<ModelScheduler> _logger;
    readonly TimeProvider _time;
    TaskCompletionSource _released = NewSignal();
    int _waiting;
    long _activity;
    bool _disposed;

    public ModelScheduler(SchedulerOptions options, ILogger<ModelScheduler> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public SchedulerOptions Options => _options;

    /// <summary>
    /// A hold on <paramref name="model"/>'s runner, loading it first if needed, and, with
    /// <paramref name="contextLength"/>, one of its sequences for a generation (the callback gives the request's
    /// context length once the model is loaded). Cancelling (the client went away) leaves the queue at once.
    /// </summary>
    /// <param name="keepAlive">The request's keep-alive, or null for the server's.</param>
    /// <param name="contextLength">For a generation: the request's context length on the loaded runner; null to only hold the model.</param>
    /// <exception cref="ApiException">503: the queue is full.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    /// <exception cref="Formats.FileFormatException">The model cannot be loaded (the error of every request that waited for it).</exception>
    public Task<ModelLease> AcquireAsync(StoredModel model, TimeSpan? keepAlive, CancellationToken cancellationToken) =>
        AcquireAsync(model, keepAlive, null, cancellationToken);

    /// <inheritdoc cref="AcquireAsync(StoredModel, TimeSpan?, CancellationToken)"/>
    public async Task<ModelLease> AcquireAsync(StoredModel model, TimeSpan? keepAlive, Func<ModelRunner, int>? contextLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Interlocked.Increment(ref _waiting) > _options.MaxQueue)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, QueueFullMessage);
        }
        try
        {
            var (runner, loadedNow) = await ReserveAsync(model, cancellationToken).ConfigureAwait(false);
            BatchSequence? sequence = null;
            try
            {
                await runner.Loading.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (contextLength is not null)
                {
                    var length = contextLength(runner);
                    sequence = await runner.Decoder.AdmitAsync(length, cancellationToken).ConfigureAwait(false);
                    runner.ContextLength = length;
                }
            }
            catch
            {
                Unreserve(runner);
                throw;
            }
            return new ModelLease(this, runner, keepAlive ?? _options.KeepAlive, loadedNow, sequence);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// Takes a reference on the model's runner, creating it (and starting its load) when there is none. A model to load
    /// must fit beside the loaded ones, in number (<c>QUANTA_MAX_LOADED_MODELS</c>) and in memory (its
    /// <see cref="ModelMemory"/> estimate): idle models are unloaded for it, least recently used first, else it waits
    /// until one is idle; a model that cannot fit even alone is refused at once, with Ollama's message.
    /// </summary>
    /// <exception cref="ApiException">500: the model needs more memory than the machine has.</exception>
    async Task<(ModelRunner Runner, bool LoadedNow)> ReserveAsync(StoredModel model, CancellationToken cancellationToken)
    {
        long? need = null;
        while (true)
        {
            Task released;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_runners.TryGetValue(model.ModelPath, out var runner) && !runner.Loading.IsFaulted)
                {
                    Hold(runner);
                    return (runner, false);
                }
                if (runner is not null)
                {
                    // A load that failed: the next request tries again.
                    _runners.Remove(model.ModelPath);
                }
                if (need is { } bytes)
                {
                    // Measured before anything is unloaded: the memory an unloaded model frees shows only later.
                    var budget = _options.MemoryBudget ?? ModelMemory.Available() + _runners.Values.Sum(r => r.EstimatedBytes);
                    if (bytes > budget)
                    {
                        // Ollama's server/sched.go wording.
                        throw new ApiException(StatusCodes.Status500InternalServerError, $"model requires more system memory ({ModelMemory.Human(bytes)}) than is available ({ModelMemory.Human(budget)})");
                    }
                    while (_runners.Count >= _options.MaxLoadedModels || _runners.Values.Sum(r => r.EstimatedBytes) + bytes > budget)
                    {
                        if (!UnloadLeastRecentlyUsed())
                        {
                            break;
                        }
                    }
                    if (_runners.Count < _options.MaxLoadedModels && _runners.Values.Sum(r => r.EstimatedBytes) + bytes <= budget)
                    {
                        runner = new ModelRunner(model, LoadAsync(model), _options) { EstimatedBytes = bytes };
                        _runners[model.ModelPath] = runner;
                        Hold(runner);
                        return (runner, true);
                    }
                }
                released = _released.Task;
            }
            if (need is null)
            {
                // Not loaded: estimate what it takes (it reads the file's metadata: not under the lock), then look again.
                var context = ChatParameters.Defaults.With(ModelRunner.Options(model.Parameters)).NumCtx;
                need = await Task.Run(() => ModelMemory.Estimate(model.ModelPath, context, _options.NumParallel), cancellationToken).ConfigureAwait(false);
                continue;
            }
            // Every loaded model is busy: wait until one is released.
            await released.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    Task<ChatModel> LoadAsync(StoredModel model)
    {
        var threads = ChatParameters.Defaults.With(ModelRunner.Options(model.Parameters)).NumThread;
        var name = model.Name.DisplayShortest;
        return Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                // A projector layer gives the model its vision tower (a single-file gemma3 has its own).
                var loaded = ChatModel.Load(model.ModelPath, model.ProjectorPaths.FirstOrDefault(), Math.Max(threads, 0));
                LogLoaded(_logger, name, loaded.Threads, clock.Elapsed.TotalMilliseconds);
                return loaded;
            }
            catch (Exception e)
            {
                LogLoadFailed(_logger, name, e.Message);
                throw;
            }
        });
    }

    void Hold(ModelRunner runner)
    {
        _activity++;
        runner.References++;
        runner.Expiry?.Cancel();
        runner.Expiry?.Dispose();
        runner.Expiry = null;
        runner.ExpiresAt = DateTimeOffset.MaxValue;
    }

    void Unreserve(ModelRunner runner)
    {
        lock (_gate)
        {
            runner.References--;
            if (runner.Loading.IsFaulted && runner.References == 0 && _runners.TryGetValue(runner.ModelPath, out var current) && current == runner)
            {
                _runners.Remove(runner.ModelPath);
            }
            else
            {
                Idle(runner, runner.KeepAlive == default ? _options.KeepAlive : runner.KeepAlive);
            }
            Signal();
        }
    }

    /// <summary>A lease ends (its sequence already given back): once the runner is idle, its keep-alive starts.</summary>
    internal void Release(ModelRunner runner, TimeSpan keepAlive)
    {
        lock (_gate)
        {
            runner.References--;
            runner.LastUsed = _time.GetTimestamp();
            Idle(runner, keepAlive);
            Signal();
            if (_runners.Values.All(r => r.References == 0))
            {
                _ = CompactWhenIdleAsync(_activity);
            }
        }
    }

    /// <summary>
    /// Gives the memory of the requests just served back to the system once the server has been idle for a second:
    /// a burst of concurrent requests grows the managed heap (their prompts, samplers, response buffers), and the
    /// runtime would otherwise keep those pages mapped, so a server's resident memory would stay at its busiest.
    /// The collection runs only while no request is served, so it delays none.
    /// </summary>
    async Task CompactWhenIdleAsync(long activity)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
        lock (_gate)
        {
            if (activity != _activity || _disposed || _runners.Values.Any(r => r.References > 0))
            {
                return;
            }
        }
        var before = GC.GetGCMemoryInfo().HeapSizeBytes;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        LogCompacted(_logger, before / 1048576.0, GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0);
    }

    /// <summary>Starts the keep-alive of a runner no request holds (under the lock).</summary>
    void Idle(ModelRunner runner, TimeSpan keepAlive)
    {
        runner.KeepAlive = runner.UnloadWhenIdle ? TimeSpan.Zero : keepAlive;
        keepAlive = runner.KeepAlive;
        if (runner.References > 0 || runner.Unloaded)
        {
            return;
        }
        if (keepAlive == TimeSpan.Zero || _disposed)
        {
            Unload(runner);
            return;
        }
        if (keepAlive == Timeout.InfiniteTimeSpan || keepAlive > MaxTimer)
        {
            runner.ExpiresAt = DateTimeOffset.MaxValue;
            return;
        }
        runner.ExpiresAt = _time.GetUtcNow() + keepAlive;
        var expiry = new CancellationTokenSource();
        runner.Expiry = expiry;
        _ = ExpireAsync(runner, keepAlive, expiry.Token);
    }

    async Task ExpireAsync(ModelRunner runner, TimeSpan delay, CancellationToken cancelled)
    {
        try
        {
            await Task.Delay(delay, _time, cancelled).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        lock (_gate)
        {
            if (!cancelled.IsCancellationRequested && runner.References == 0)
            {
                Unload(runner);
                Signal();
            }
        }
    }

    /// <summary>
    /// Unloads the model of <paramref name="modelPath"/> now if it is idle, else as soon as its requests end
    /// (<c>keep_alive: 0</c> with an empty prompt). False when it is not loaded.
    /// </summary>
    public bool Expire(string modelPath)
    {
        lock (_gate)
        {
            if (!_runners.TryGetValue(modelPath, out var runner))
            {
                return false;
            }
            runner.UnloadWhenIdle = true;
            Idle(runner, TimeSpan.Zero);
            return true;
        }
    }

    /// <summary>Unloads the idle runner used least recently (under the lock); false when every runner is busy.</summary>
    bool UnloadLeastRecentlyUsed()
    {
        var idle = _runners.Values.Where(r => r.References == 0).MinBy(r => r.LastUsed);
        if (idle is null)
        {
            return false;
        }
        Unload(idle);
        return true;
    }

    /// <summary>Removes an idle runner and frees its model (under the lock).</summary>
    void Unload(ModelRunner runner)
    {
        if (runner.Unloaded)
        {
            return;
        }
        runner.Unloaded = true;
        runner.Expiry?.Cancel();
        runner.Expiry?.Dispose();
        runner.Expiry = null;
        if (_runners.TryGetValue(runner.ModelPath, out var current) && current == runner)
        {
            _runners.Remove(runner.ModelPath);
        }
        if (runner.Loading.IsCompletedSuccessfully)
        {
            runner.StopDecoder();
            runner.Loading.Result.Dispose();
            LogUnloaded(_logger, runner.Name);
        }
    }

    void Signal()
    {
        var released = _released;
        _released = NewSignal();
        released.TrySetResult();
    }

    /// <summary>The longest delay a timer takes (about 49 days); a longer keep-alive is as good as forever.</summary>
    static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The loaded models (<c>/api/ps</c>), most recently loaded first.</summary>
    public IReadOnlyList<ModelRunner> Running()
    {
        lock (_gate)
        {
            return [.. _runners.Values.Where(r => r.Loading.IsCompletedSuccessfully).Reverse()];
        }
    }

    /// <summary>
    /// Unloads every model: idle ones now, busy ones as their requests end (the server cancels those on stop).
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var runner in _runners.Values.Where(r => r.References == 0).ToList())
            {
                Unload(runner);
            }
        }
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "loaded model {Model} ({Threads} threads, {DurationMs:0}ms)")]
    static partial void LogLoaded(ILogger logger, string model, int threads, double durationMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot load model {Model}: {Error}")]
    static partial void LogLoadFailed(ILogger logger, string model, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "idle: compacted the managed heap from {BeforeMiB:0.0} to {AfterMiB:0.0} MiB")]
    static partial void LogCompacted(ILogger logger, double beforeMiB, double afterMiB);

    [LoggerMessage(Level = LogLevel.Information, Message = "unloaded model {Model}")]
    static partial void LogUnloaded(ILogger logger, string model);
}
