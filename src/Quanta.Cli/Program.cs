using Quanta.Cli;

// SIGINT (Ctrl+C), SIGTERM and SIGHUP ask the running command to stop: it cleans up and exits 130, 143 or 129.
// A second signal (not a copy of the first, which may come twice) ends the process at once, for a command that
// does not stop quickly enough, after deleting the temporary files in progress. The handlers are in place before anything else runs, so no output is created without them,
// and they stay until the process ends: a signal that arrives after the command has finished changes nothing,
// where the runtime's default would turn a finished run into a killed one.
var stop = new StopRequest();
var signals = stop.HandleSignals();

var exitCode = await Cli.RunAsync(args, CliContext.FromConsole(), stop).ConfigureAwait(false);
GC.KeepAlive(signals);
GC.KeepAlive(stop);
return exitCode;
