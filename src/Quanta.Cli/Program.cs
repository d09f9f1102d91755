using System.Runtime.InteropServices;
using Quanta.Cli;

// The first Ctrl+C asks the running command to stop (it cleans up and exits 130); a second one is left to
// the runtime and ends the process at once, for a command that does not stop quickly enough.
using var cancellation = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal =>
{
    if (!cancellation.IsCancellationRequested)
    {
        signal.Cancel = true;
        cancellation.Cancel();
    }
});

return await Cli.RunAsync(args, CliContext.FromConsole(), cancellation.Token).ConfigureAwait(false);
