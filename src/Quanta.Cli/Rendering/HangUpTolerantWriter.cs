namespace Quanta.Cli.Rendering;

/// <summary>
/// A terminal that may go away under the command: once it is closed (SIGHUP), every write fails with an I/O
/// error, including those of Spectre.Console's render thread, where an exception would end the process before
/// the command has cleaned up. Progress and messages written after that have no reader; they are dropped, and
/// the command stops because of the signal, as it would on Ctrl+C.
/// </summary>
internal sealed class HangUpTolerantWriter(TextWriter inner) : TextWriter
{
    public override System.Text.Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override string NewLine
    {
        get => inner.NewLine;
#pragma warning disable CS8765 // TextWriter.NewLine's setter accepts null; so does the inner writer's.
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    public override void Write(char value) => Try(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Try(() => inner.Write(buffer, index, count));

    public override void Write(string? value) => Try(() => inner.Write(value));

    public override void WriteLine(string? value) => Try(() => inner.WriteLine(value));

    public override void Flush() => Try(inner.Flush);

    static void Try(Action write)
    {
        try
        {
            write();
        }
        catch (IOException)
        {
            // The terminal is gone: nobody is left to read this.
        }
    }
}
