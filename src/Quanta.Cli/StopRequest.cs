using System.Runtime.InteropServices;

namespace Quanta.Cli;

/// <summary>
/// A request to stop the running command, and which signal made it: Ctrl+C (SIGINT), a service manager or
/// <c>kill</c> (SIGTERM), or a closed terminal (SIGHUP). All three get the same treatment: the first cancels
/// <see cref="Token"/>, the command deletes its temporary files and leaves its targets and the store as they
/// were, and the process exits with 128 + the signal's number, the status a shell reports for a process the
/// signal ended (130, 143, 129).
/// </summary>
public sealed class StopRequest : IDisposable
{
    // POSIX numbers; the same on Linux and macOS. PosixSignal's own values are negative placeholders.
    const int SigHup = 1;
    const int SigInt = 2;
    const int SigTerm = 15;

    /// <summary>
    /// Signals this soon after the first are copies of the same request, not a second one: one Ctrl+C can
    /// arrive twice (the terminal signals the whole process group, and a parent such as a script or an IDE may
    /// forward it again). Treated as a second request, the copy would end the process before it has cleaned up.
    /// </summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    readonly CancellationTokenSource _source = new();
    readonly TimeProvider _time;
    readonly Action _abruptEnd;
    long _requestedAt;
    int _signal;

    public StopRequest()
        : this(TimeProvider.System, () => Quanta.Formats.TemporaryFiles.DeleteInProgress())
    {
    }

    /// <param name="time">The clock that tells a copy of the first signal from a second request.</param>
    /// <param name="abruptEnd">Runs just before a second request lets the runtime end the process.</param>
    internal StopRequest(TimeProvider time, Action abruptEnd)
    {
        _time = time;
        _abruptEnd = abruptEnd;
    }

    /// <summary>Cancelled by the first request.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>128 + the number of the signal that asked first (SIGINT's 130 when none did).</summary>
    public int ExitCode => Signal switch
    {
        SigTerm => ExitCodes.Terminated,
        SigHup => ExitCodes.HungUp,
        _ => ExitCodes.Cancelled,
    };

    /// <summary>The line printed on stderr when the command stopped: <c>cancelled</c>, naming the signal unless it was Ctrl+C.</summary>
    public string Message => Signal switch
    {
        SigTerm => "cancelled (SIGTERM)",
        SigHup => "cancelled (SIGHUP)",
        _ => "cancelled",
    };

    int Signal => Volatile.Read(ref _signal);

    /// <summary>
    /// Records <paramref name="signal"/> as the reason and cancels <see cref="Token"/>; false, changing nothing,
    /// when a request was made before.
    /// </summary>
    public bool TryRequest(PosixSignal signal)
    {
        var number = signal switch
        {
            PosixSignal.SIGINT => SigInt,
            PosixSignal.SIGTERM => SigTerm,
            PosixSignal.SIGHUP => SigHup,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "only SIGINT, SIGTERM and SIGHUP stop a command"),
        };
        if (Interlocked.CompareExchange(ref _signal, number, 0) != 0)
        {
            return false;
        }
        Volatile.Write(ref _requestedAt, _time.GetTimestamp());
        try
        {
            _source.Cancel();
        }
        catch (AggregateException)
        {
            // A cancellation callback failed. The token is cancelled all the same, and this runs on the
            // runtime's signal thread, where an exception would end the process without any cleanup.
        }
        return true;
    }

    /// <summary>
    /// Routes SIGINT, SIGTERM and SIGHUP to this request until the result is disposed (<see cref="OnSignal"/>).
    /// The first signal stops the command in order; a second one (of any of the three, more than
    /// <see cref="Grace"/> later) is left to the runtime, which ends the process at once, for a command that does
    /// not stop quickly enough; the temporary files still in progress are deleted first, since the command's own
    /// cleanup will not run. Where the platform has no such signals, nothing is routed.
    /// </summary>
    public IDisposable HandleSignals()
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var signal in (ReadOnlySpan<PosixSignal>)[PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP])
        {
            try
            {
                // Cancel = true keeps the runtime from ending the process.
                registrations.Add(PosixSignalRegistration.Create(signal, context => context.Cancel = OnSignal(context.Signal)));
            }
            catch (PlatformNotSupportedException)
            {
                // Browser, mobile: no such signal to route.
            }
        }
        return new Registrations(registrations);
    }

    /// <summary>
    /// What a signal does: the first requests the stop, a copy within <see cref="Grace"/> is absorbed, and a
    /// later one deletes the temporary files in progress and returns false, which lets the runtime end the process.
    /// </summary>
    /// <returns>True to keep the process running (the runtime's <see cref="PosixSignalContext.Cancel"/>).</returns>
    internal bool OnSignal(PosixSignal signal)
    {
        if (TryRequest(signal))
        {
            return true;
        }
        // Zero: the first request is being recorded on another thread right now, so this is its copy.
        var requestedAt = Volatile.Read(ref _requestedAt);
        if (requestedAt == 0 || _time.GetElapsedTime(requestedAt) < Grace)
        {
            return true;
        }
        _abruptEnd();
        return false;
    }

    public void Dispose() => _source.Dispose();

    sealed class Registrations(List<PosixSignalRegistration> registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
