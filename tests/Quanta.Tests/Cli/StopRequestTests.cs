using System.Runtime.InteropServices;
using Quanta.Cli;

namespace Quanta.Tests.Cli;

public sealed class StopRequestTests
{
    /// <summary>A clock the test moves by hand.</summary>
    sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => Now;
    }

    [Fact]
    public void The_first_signal_stops_a_copy_is_absorbed_and_a_later_one_ends_the_process_after_deleting_temporaries()
    {
        var clock = new ManualClock { Now = 10_000 };
        var abruptEnds = 0;
        using var stop = new StopRequest(clock, () => abruptEnds++);

        Assert.True(stop.OnSignal(PosixSignal.SIGTERM));
        Assert.True(stop.Token.IsCancellationRequested);
        Assert.Equal(ExitCodes.Terminated, stop.ExitCode);
        Assert.Equal("cancelled (SIGTERM)", stop.Message);

        // The same Ctrl+C forwarded by a parent a few milliseconds later: the same request.
        clock.Now += 5;
        Assert.True(stop.OnSignal(PosixSignal.SIGINT));
        clock.Now += (long)StopRequest.Grace.TotalMilliseconds - 10;
        Assert.True(stop.OnSignal(PosixSignal.SIGTERM));
        Assert.Equal(0, abruptEnds);

        // A second request, later: the process is left to end, its temporary files deleted first.
        clock.Now += 10;
        Assert.False(stop.OnSignal(PosixSignal.SIGINT));
        Assert.Equal(1, abruptEnds);
        Assert.Equal(ExitCodes.Terminated, stop.ExitCode);
    }

    [Theory]
    [InlineData(PosixSignal.SIGINT, 130, "cancelled")]
    [InlineData(PosixSignal.SIGTERM, 143, "cancelled (SIGTERM)")]
    [InlineData(PosixSignal.SIGHUP, 129, "cancelled (SIGHUP)")]
    public void The_exit_code_is_128_plus_the_signal_as_shells_report_it(PosixSignal signal, int exitCode, string message)
    {
        using var stop = new StopRequest(TimeProvider.System, () => { });
        Assert.True(stop.TryRequest(signal));
        Assert.Equal(exitCode, stop.ExitCode);
        Assert.Equal(message, stop.Message);
    }
}
