using Quanta.Inference.Chat;

namespace Quanta.Cli.Interactive;

/// <summary>
/// Shows a streamed answer as <c>ollama run</c> does: the thinking between <c>Thinking...</c> and
/// <c>...done thinking.</c> (grey on a terminal) unless hidden, then the content, each word-wrapped.
/// </summary>
internal sealed class AnswerPrinter
{
    const string Grey = "\x1b[38;5;245m";
    const string Bold = "\x1b[1m";
    const string Default = "\x1b[0m";

    readonly TextWriter _output;
    readonly bool _terminal;
    readonly bool _hideThinking;
    readonly WordWrapWriter _writer;
    bool _thinkingOpen;
    bool _thinkingEndsWithNewline;

    public AnswerPrinter(TextWriter output, bool terminal, bool wordWrap, bool hideThinking)
    {
        _output = output;
        _terminal = terminal;
        _hideThinking = hideThinking;
        _writer = new WordWrapWriter(output, wordWrap && terminal, TerminalWidth);
    }

    public void Write(ChatDelta delta)
    {
        if (delta.Thinking.Length > 0 && !_hideThinking)
        {
            if (!_thinkingOpen)
            {
                _output.Write(_terminal ? Grey + Bold + "Thinking...\n" + Default + Grey : "Thinking...\n");
                _thinkingOpen = true;
            }
            _thinkingEndsWithNewline = delta.Thinking.EndsWith('\n');
            _writer.Write(delta.Thinking);
        }
        if (_thinkingOpen && delta.Content.Length > 0)
        {
            if (!_thinkingEndsWithNewline)
            {
                _output.WriteLine();
            }
            _output.Write(_terminal ? Grey + Bold + "...done thinking.\n\n" + Default : "...done thinking.\n\n");
            _thinkingOpen = false;
            _writer.Reset();
        }
        if (delta.Content.Length > 0)
        {
            _writer.Write(delta.Content);
        }
    }

    /// <summary>Ends the answer: a terminal left grey by unfinished thinking gets its colour back.</summary>
    public void Finish()
    {
        if (_thinkingOpen && _terminal)
        {
            _output.Write(Default);
        }
    }

    /// <summary>The terminal's width in columns; 0 when it cannot be known (Ollama then takes 80).</summary>
    internal static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
