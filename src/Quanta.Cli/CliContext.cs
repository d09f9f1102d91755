using Quanta.Cli.Rendering;
using Spectre.Console;

namespace Quanta.Cli;

/// <summary>
/// Where a command writes and what those writers are attached to. Commands never touch
/// <see cref="Console"/> directly, so the whole CLI runs in-process in tests, in parallel.
/// </summary>
/// <param name="Out">Results: the report, the JSON document. Nothing else goes here.</param>
/// <param name="Error">Errors, warnings and (on a terminal) progress.</param>
/// <param name="OutIsTerminal">True when a person reads <paramref name="Out"/>: tables get borders and colour.</param>
/// <param name="ErrorIsTerminal">True when progress displays may draw on <paramref name="Error"/>.</param>
public sealed record CliContext(TextWriter Out, TextWriter Error, bool OutIsTerminal = false, bool ErrorIsTerminal = false)
{
    /// <summary>Standard input as bytes, for verbs that read it (<c>tokenize --stdin</c>); tests supply their own.</summary>
    public Func<Stream> OpenStandardInput { get; init; } = Console.OpenStandardInput;

    /// <summary>True when standard input is a terminal a person types at (<c>quanta run</c> then asks for lines).</summary>
    public bool InIsTerminal { get; init; }

    /// <summary>True when standard input is a pipe or a file (<c>quanta run</c> then reads it into the prompt).</summary>
    public bool InIsRedirected { get; init; }

    /// <summary>
    /// The process's own console, with terminal detection. A terminal (stderr, where progress is drawn from a
    /// thread of its own, and stdout) drops writes once it is closed (<see cref="HangUpTolerantWriter"/>).
    /// </summary>
    public static CliContext FromConsole() =>
        new(OnTerminal(Console.Out, !Console.IsOutputRedirected), OnTerminal(Console.Error, !Console.IsErrorRedirected),
            !Console.IsOutputRedirected, !Console.IsErrorRedirected)
        {
            InIsTerminal = !Console.IsInputRedirected,
            InIsRedirected = Console.IsInputRedirected,
        };

    // stdout too: a command that completes just as its terminal closes, before SIGHUP's handler has run, must not
    // fail on printing its summary to nobody; its output is complete.
    static TextWriter OnTerminal(TextWriter writer, bool isTerminal) => isTerminal ? new HangUpTolerantWriter(writer) : writer;

    /// <summary>
    /// A writer for human-readable reports: Spectre.Console tables for a terminal, plain aligned columns when
    /// the output is piped or redirected, so that grep, awk and diff see one record per line.
    /// </summary>
    internal IReportWriter CreateReportWriter() => OutIsTerminal
        // Out may be a HangUpTolerantWriter rather than Console.Out itself, which Spectre would not take for a terminal.
        ? new SpectreReportWriter(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Out), Interactive = InteractionSupport.Yes }))
        : new PlainReportWriter(Out);
}
