namespace Quanta.Cli.Interactive;

/// <summary>What a person did at the prompt: entered a line, pressed Ctrl+C, or pressed Ctrl+D on an empty line (or input ended).</summary>
internal enum LineStatus
{
    Line,
    Interrupt,
    EndOfFile,
}

internal readonly record struct LineInput(LineStatus Status, string Text);

/// <summary>Where an interactive session reads its lines: a terminal's line editor, plain lines, or a test's script.</summary>
internal interface ILineReader : IDisposable
{
    /// <summary>Reads a line after the <c>&gt;&gt;&gt; </c> prompt, or after <c>... </c> inside a multi-line message.</summary>
    LineInput ReadLine(bool continuation);

    /// <summary>Keep entered lines for the arrow keys (<c>/set history</c>, <c>/set nohistory</c>).</summary>
    bool HistoryEnabled { get; set; }

    /// <summary>
    /// While the result is not disposed (an answer is being generated), Ctrl+C calls <paramref name="onInterrupt"/>
    /// instead of ending the program.
    /// </summary>
    IDisposable WatchInterrupt(Action onInterrupt);
}
