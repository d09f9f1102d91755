using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Quanta.Cli.Commands;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;

namespace Quanta.Cli;

/// <summary>
/// The command line: one <see cref="Command"/> per verb, built by the verb's own file under Commands/, and
/// the one place where exceptions become exit codes.
/// </summary>
/// <remarks>
/// Exit codes: 0 success; 1 usage error (System.CommandLine's parse errors) or an unexpected error;
/// 2 bad input (<see cref="GgufFormatException"/>, missing or unreadable files, <see cref="UserErrorException"/>);
/// 128 + the signal's number when stopped by a signal (<see cref="StopRequest"/>: 130 Ctrl+C, 143 SIGTERM, 129
/// SIGHUP). Every error is one line on stderr; the stack trace of an unexpected error is shown only
/// with <c>--verbose</c>, because users need to know what to fix, not where in Quanta it was noticed.
/// </remarks>
public static class Cli
{
    public const string ToolName = "quanta";

    /// <summary>Each verb contributes a factory; a new verb is one file plus one line here.</summary>
    static readonly Func<CliContext, Command>[] Verbs =
    [
        InspectCommand.Create,
        QuantizeCommand.Create,
        ConvertCommand.Create,
        ExportCommand.Create,
        TypesCommand.Create,
        DemoCommand.Create,
        LogitsCommand.Create,
        CompleteCommand.Create,
        PerplexityCommand.Create,
        EvalCommand.Create,
        PlanCommand.Create,
        OptimizeCommand.Create,
        ImatrixCommand.Create,
        CreateCommand.Create,
        ListCommand.Create,
        ShowCommand.Create,
        CopyCommand.Create,
        RemoveCommand.Create,
        PruneCommand.Create,
        VerifyCommand.Create,
        MergeCommand.Create,
        SplitVisionCommand.Create,
        ShardStatusCommand.Create,
        TokenizeCommand.Create,
        BenchCommand.Create,
        Commands.Gguf.GgufCommand.Create,
        ServeCommand.Create,
        RunCommand.Create,
        VisionCheckCommand.Create,
    ];

    /// <summary>Shared by every verb (<see cref="Option.Recursive"/>), so it may come before or after the verb.</summary>
    internal static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show full details of unexpected errors (stack traces)",
        Recursive = true,
    };

    /// <summary>Runs the CLI against the given writers, which are treated as redirected (not a terminal).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, new CliContext(stdout, stderr), cancellationToken);

    /// <summary>Runs the CLI; a cancelled <paramref name="cancellationToken"/> stops it as Ctrl+C does (exit 130).</summary>
    public static Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default) =>
        RunAsync(args, context, Verbs, cancellationToken);

    /// <summary>Runs the CLI until it ends or <paramref name="stop"/> is requested, which sets the exit code and message.</summary>
    public static Task<int> RunAsync(string[] args, CliContext context, StopRequest stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        return RunAsync(args, context, Verbs, stop.Token, () => (stop.ExitCode, stop.Message));
    }

    /// <summary>Runs with a given set of verbs; tests add verbs that fail on purpose to exercise the error paths.</summary>
    internal static Task<int> RunAsync(string[] args, CliContext context, IEnumerable<Func<CliContext, Command>> verbs, CancellationToken cancellationToken) =>
        RunAsync(args, context, verbs, cancellationToken, () => (ExitCodes.Cancelled, "cancelled"));

    static async Task<int> RunAsync(string[] args, CliContext context, IEnumerable<Func<CliContext, Command>> verbs, CancellationToken cancellationToken,
        Func<(int ExitCode, string Message)> stopped)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(verbs);

        var root = BuildRootCommand(context, verbs);
        var parseResult = root.Parse(HelpRequest(args, root));
        if (parseResult.Action is ParseErrorAction)
        {
            return ReportParseErrors(parseResult, context.Error);
        }

        var configuration = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // Exceptions come back to us, to be turned into one line and an exit code.
            EnableDefaultExceptionHandler = false,
            // Ctrl+C arrives through cancellationToken (Program wires the signal), so RunAsync never installs
            // process-wide handlers; tests run many CLIs side by side in one process.
            ProcessTerminationTimeout = null,
        };

        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsCausedByStop(e, context, cancellationToken))
        {
            // Whatever ended the command once a stop was asked for is the stop itself: the cancellation, or an
            // error it caused (after SIGHUP the terminal is gone, and writing progress to it fails). Either way
            // the command has cleaned up on its way out.
            var (exitCode, message) = stopped();
            await TryWriteLineAsync(context.Error, message).ConfigureAwait(false);
            return exitCode;
        }
        catch (Exception e) when (IsUserError(e))
        {
            await context.Error.WriteLineAsync($"error: {OneLine(e.Message)}").ConfigureAwait(false);
            if (parseResult.GetValue(VerboseOption))
            {
                await context.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            var hint = parseResult.GetValue(VerboseOption) ? "" : " (run again with --verbose for details)";
            await context.Error.WriteLineAsync($"error: unexpected {e.GetType().Name}: {OneLine(e.Message)}{hint}").ConfigureAwait(false);
            if (parseResult.GetValue(VerboseOption))
            {
                await context.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            }
            return ExitCodes.Usage;
        }
    }

    /// <summary>
    /// Bare <c>quanta</c> and <c>quanta help [VERB]</c> ask for the help (exit 0), as git and dotnet take them;
    /// System.CommandLine alone would call the first a missing command and the second an unknown one.
    /// </summary>
    static string[] HelpRequest(string[] args, RootCommand root) => args switch
    {
        [] or ["help"] => ["--help"],
        // An unknown verb after help is reported as unknown, not answered with the general help.
        ["help", var verb, ..] => root.Subcommands.Any(c => c.Name == verb) ? [.. args[1..], "--help"] : args[1..],
        _ => args,
    };

    /// <summary>
    /// Whether a stop was asked for (see the catch above). A closed terminal makes writes to it fail with an
    /// I/O error, and that error can reach us a moment before SIGHUP's handler has run (signals are handled on
    /// a thread of their own), so on a terminal an I/O error waits briefly for a stop request before it counts
    /// as bad input.
    /// </summary>
    static bool IsCausedByStop(Exception e, CliContext context, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return true;
        }
        if (!context.OutIsTerminal && !context.ErrorIsTerminal)
        {
            return false;
        }
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is IOException and not FileNotFoundException and not DirectoryNotFoundException)
            {
                return cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500));
            }
        }
        return false;
    }

    /// <summary>Writes a last line to a stream that may be gone (a terminal closed by SIGHUP), ignoring that it is.</summary>
    static async Task TryWriteLineAsync(TextWriter writer, string line)
    {
        try
        {
            await writer.WriteLineAsync(line).ConfigureAwait(false);
            await writer.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // Nobody is there to read it.
        }
    }

    static RootCommand BuildRootCommand(CliContext context, IEnumerable<Func<CliContext, Command>> verbs)
    {
        var root = new RootCommand("Quanta: quantize LLMs and write GGUF files that llama.cpp and Ollama load, in pure .NET.")
        {
            // The executable is "quanta" when installed but "testhost" or "dotnet" elsewhere; help should not care.
            HelpName = ToolName,
        };
        root.Options.Add(VerboseOption);
        foreach (var verb in verbs)
        {
            root.Subcommands.Add(verb(context));
        }
        return root;
    }

    // Errors the user can act on without reading Quanta's source. IOException covers a file that vanished or
    // cannot be read (FileNotFoundException and DirectoryNotFoundException derive from it).
    static bool IsUserError(Exception e) =>
        e is FileFormatException or ConversionException
            or UserErrorException or IOException or UnauthorizedAccessException
            or Quanta.Store.StoreException or Quanta.Store.ModelfileException or Quanta.Quantization.QuantizationException;

    /// <summary>
    /// Parse errors as "error: ..." lines plus a pointer to help, instead of System.CommandLine's full help
    /// dump, which would land on stdout and drown the actual mistake.
    /// </summary>
    static int ReportParseErrors(ParseResult parseResult, TextWriter stderr)
    {
        foreach (var error in parseResult.Errors)
        {
            stderr.WriteLine($"error: {OneLine(error.Message)}");
        }
        stderr.WriteLine($"Run '{CommandPath(parseResult.CommandResult)} --help' for usage.");
        return ExitCodes.Usage;
    }

    static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is CommandResult c; result = c.Parent)
        {
            names.Add(c.Command is RootCommand ? ToolName : c.Command.Name);
        }
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Messages from the file system or from nested exceptions can span lines; the contract is one.</summary>
    internal static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
