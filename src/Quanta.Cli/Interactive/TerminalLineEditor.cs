using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Quanta.Cli.Interactive;

/// <summary>
/// The line editor of <c>quanta run</c> on a terminal, with Ollama's prompts (<c>&gt;&gt;&gt; </c>, <c>... </c>), its grey
/// placeholder and its keys (ollama/ollama <c>readline</c>): arrows, Home/End, Ctrl+A/E/B/F, Alt+B/F, Backspace,
/// Delete, Ctrl+K/U/W, Ctrl+L, history on Up/Down, Ctrl+C (an interrupt) and Ctrl+D (end, on an empty line). Ctrl+C is
/// read as a key, not a signal, for the whole session, so that during an answer it stops the answer
/// (<see cref="WatchInterrupt"/>) and leaves the session. Keys are read on a thread of their own; keys typed during an
/// answer wait for the next prompt.
/// </summary>
internal sealed class TerminalLineEditor : ILineReader
{
    const string Grey = "\x1b[38;5;245m";
    const string Reset = "\x1b[0m";
    const string Placeholder = "Send a message (/? for help)";
    const string AltPlaceholder = "Press Enter to send";

    readonly TextWriter _output;
    readonly BlockingCollection<ConsoleKeyInfo> _keys = [];
    readonly List<string> _history = [];
    readonly bool _treatedControlCAsInput;
    readonly CancellationToken _stop;
    Action? _onInterrupt;
    Thread? _reader;

    /// <param name="output">The terminal.</param>
    /// <param name="stop">A stop request (SIGTERM, SIGHUP, or SIGINT sent with kill) ends a wait for a key.</param>
    public TerminalLineEditor(TextWriter output, CancellationToken stop)
    {
        _output = output;
        _stop = stop;
        _treatedControlCAsInput = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
    }

    public bool HistoryEnabled { get; set; } = true;

    public IDisposable WatchInterrupt(Action onInterrupt)
    {
        Volatile.Write(ref _onInterrupt, onInterrupt);
        StartReader();
        return new Watch(this);
    }

    public LineInput ReadLine(bool continuation)
    {
        StartReader();
        var prompt = continuation ? "... " : ">>> ";
        var placeholder = continuation ? AltPlaceholder : Placeholder;
        var buffer = new StringBuilder();
        var cursor = 0;
        var historyIndex = _history.Count;
        var draft = "";

        void Redraw()
        {
            var sb = new StringBuilder("\r").Append(prompt);
            if (buffer.Length == 0)
            {
                sb.Append(Grey).Append(placeholder).Append(Reset).Append("\x1b[K")
                    .Append(CultureInfo.InvariantCulture, $"\x1b[{placeholder.Length}D");
            }
            else
            {
                sb.Append(buffer).Append("\x1b[K");
                if (buffer.Length > cursor)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\x1b[{buffer.Length - cursor}D");
                }
            }
            _output.Write(sb.ToString());
            _output.Flush();
        }

        void Replace(string text)
        {
            buffer.Clear().Append(text);
            cursor = buffer.Length;
        }

        Redraw();
        while (true)
        {
            var key = _keys.Take(_stop);
            var control = (key.Modifiers & ConsoleModifiers.Control) != 0;
            var alt = (key.Modifiers & ConsoleModifiers.Alt) != 0;
            var ch = key.KeyChar;
            if (ch == '\x03' || (control && key.Key == ConsoleKey.C))
            {
                _output.Write("\r" + prompt + buffer + "\x1b[K");
                _output.Flush();
                return new LineInput(LineStatus.Interrupt, "");
            }
            if (ch == '\x04' || (control && key.Key == ConsoleKey.D))
            {
                if (buffer.Length == 0)
                {
                    _output.Write("\r" + prompt + "\x1b[K");
                    return new LineInput(LineStatus.EndOfFile, "");
                }
                if (cursor < buffer.Length)
                {
                    buffer.Remove(cursor, 1);
                }
            }
            else if (key.Key == ConsoleKey.Enter || ch is '\r' or '\n')
            {
                _output.Write("\r" + prompt + buffer + "\x1b[K\n");
                _output.Flush();
                var line = buffer.ToString();
                if (HistoryEnabled && line.Length > 0 && (_history.Count == 0 || _history[^1] != line))
                {
                    _history.Add(line);
                }
                return new LineInput(LineStatus.Line, line);
            }
            else if (key.Key == ConsoleKey.Backspace || ch is '\b' or '\x7f')
            {
                if (cursor > 0)
                {
                    buffer.Remove(--cursor, 1);
                }
            }
            else if (key.Key == ConsoleKey.Delete)
            {
                if (cursor < buffer.Length)
                {
                    buffer.Remove(cursor, 1);
                }
            }
            else if (key.Key == ConsoleKey.LeftArrow || (control && key.Key == ConsoleKey.B))
            {
                cursor = Math.Max(0, cursor - 1);
            }
            else if (key.Key == ConsoleKey.RightArrow || (control && key.Key == ConsoleKey.F))
            {
                cursor = Math.Min(buffer.Length, cursor + 1);
            }
            else if (key.Key == ConsoleKey.Home || (control && key.Key == ConsoleKey.A))
            {
                cursor = 0;
            }
            else if (key.Key == ConsoleKey.End || (control && key.Key == ConsoleKey.E))
            {
                cursor = buffer.Length;
            }
            else if (alt && key.Key == ConsoleKey.B)
            {
                cursor = WordStart(buffer, cursor);
            }
            else if (alt && key.Key == ConsoleKey.F)
            {
                cursor = WordEnd(buffer, cursor);
            }
            else if (control && key.Key == ConsoleKey.K)
            {
                buffer.Remove(cursor, buffer.Length - cursor);
            }
            else if (control && key.Key == ConsoleKey.U)
            {
                buffer.Remove(0, cursor);
                cursor = 0;
            }
            else if (control && key.Key == ConsoleKey.W)
            {
                var start = WordStart(buffer, cursor);
                buffer.Remove(start, cursor - start);
                cursor = start;
            }
            else if (control && key.Key == ConsoleKey.L)
            {
                _output.Write("\x1b[2J\x1b[H");
            }
            else if (key.Key == ConsoleKey.UpArrow)
            {
                if (HistoryEnabled && historyIndex > 0)
                {
                    if (historyIndex == _history.Count)
                    {
                        draft = buffer.ToString();
                    }
                    Replace(_history[--historyIndex]);
                }
            }
            else if (key.Key == ConsoleKey.DownArrow)
            {
                if (HistoryEnabled && historyIndex < _history.Count)
                {
                    historyIndex++;
                    Replace(historyIndex == _history.Count ? draft : _history[historyIndex]);
                }
            }
            else if (ch >= ' ' && !control)
            {
                buffer.Insert(cursor++, ch);
            }
            Redraw();
        }
    }

    static int WordStart(StringBuilder buffer, int cursor)
    {
        var i = cursor;
        while (i > 0 && buffer[i - 1] == ' ')
        {
            i--;
        }
        while (i > 0 && buffer[i - 1] != ' ')
        {
            i--;
        }
        return i;
    }

    static int WordEnd(StringBuilder buffer, int cursor)
    {
        var i = cursor;
        while (i < buffer.Length && buffer[i] == ' ')
        {
            i++;
        }
        while (i < buffer.Length && buffer[i] != ' ')
        {
            i++;
        }
        return i;
    }

    void StartReader()
    {
        if (_reader is not null)
        {
            return;
        }
        // A background thread: it blocks in ReadKey, and must not keep the process alive once the session ends.
        _reader = new Thread(ReadKeys) { IsBackground = true, Name = "quanta run keys" };
        _reader.Start();
    }

    void ReadKeys()
    {
        try
        {
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                var interrupt = key.KeyChar == '\x03' || ((key.Modifiers & ConsoleModifiers.Control) != 0 && key.Key == ConsoleKey.C);
                if (interrupt && Volatile.Read(ref _onInterrupt) is { } handler)
                {
                    handler();
                    continue;
                }
                _keys.Add(key);
            }
        }
        catch (InvalidOperationException)
        {
            // Input ended or was closed: the prompt gets an end of file.
            _keys.Add(new ConsoleKeyInfo('\x04', ConsoleKey.D, shift: false, alt: false, control: true));
        }
        catch (IOException)
        {
            _keys.Add(new ConsoleKeyInfo('\x04', ConsoleKey.D, shift: false, alt: false, control: true));
        }
    }

    public void Dispose()
    {
        Console.TreatControlCAsInput = _treatedControlCAsInput;
    }

    sealed class Watch(TerminalLineEditor editor) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref editor._onInterrupt, null);
    }
}
