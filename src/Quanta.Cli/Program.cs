using Quanta.Cli;

// SIGINT (Ctrl+C), SIGTERM and SIGHUP ask the running command to stop: it cleans up and exits 130, 143 or 129.
// A second signal is left to the runtime and ends the process at once, for a command that does not stop
// quickly enough. The handlers are in place before anything else runs, so no output can be created without them.
using var stop = new StopRequest();
using var signals = stop.HandleSignals();

return await Cli.RunAsync(args, CliContext.FromConsole(), stop).ConfigureAwait(false);
