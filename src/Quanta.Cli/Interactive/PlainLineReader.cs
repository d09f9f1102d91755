namespace Quanta.Cli.Interactive;

/// <summary>
/// Lines from a terminal whose output is not a terminal (<c>quanta run NAME &gt; log</c>): the terminal edits the line
/// itself, the prompt is written as plain text, no escape codes; Ctrl+C is the signal, which ends the program.
/// </summary>
internal sealed class PlainLineReader(TextReader input, TextWriter output) : ILineReader
{
    public bool HistoryEnabled { get; set; }

    public LineInput ReadLine(bool continuation)
    {
        output.Write(continuation ? "... " : ">>> ");
        output.Flush();
        var line = input.ReadLine();
        return line is null ? new LineInput(LineStatus.EndOfFile, "") : new LineInput(LineStatus.Line, line);
    }

    public IDisposable WatchInterrupt(Action onInterrupt) => NoWatch.Instance;

    public void Dispose()
    {
    }

    sealed class NoWatch : IDisposable
    {
        public static readonly NoWatch Instance = new();

        public void Dispose()
        {
        }
    }
}
