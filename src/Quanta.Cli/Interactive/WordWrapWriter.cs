using System.Globalization;
using System.Text;

namespace Quanta.Cli.Interactive;

/// <summary>
/// Writes a streamed answer as <c>ollama run</c> does (cmd/cmd.go, <c>displayResponse</c>): with word wrap, a word
/// that would pass the terminal's width less 5 columns is moved to the next line (the cursor backs over what was
/// written of it, which needs a terminal's escape codes); a word longer than the width less 10 is cut. Without word
/// wrap (or when the output is not a terminal) the text goes out as it comes.
/// </summary>
internal sealed class WordWrapWriter(TextWriter output, bool wrap, Func<int> terminalWidth)
{
    int _lineLength;
    readonly StringBuilder _word = new();

    /// <summary>Starts a new block (Ollama's fresh <c>displayResponseState</c>).</summary>
    public void Reset()
    {
        _lineLength = 0;
        _word.Clear();
    }

    public void Write(string content)
    {
        var width = terminalWidth();
        if (width == 0)
        {
            width = 80;
        }
        if (!wrap || width < 10)
        {
            output.Write(_word.ToString());
            _word.Clear();
            output.Write(content);
            output.Flush();
            return;
        }
        foreach (var rune in content.EnumerateRunes())
        {
            var ch = rune.ToString();
            var chWidth = RuneWidth(rune);
            if (_lineLength + 1 > width - 5)
            {
                var wordWidth = StringWidth(_word.ToString());
                if (wordWidth > width - 10)
                {
                    output.Write(_word.ToString());
                    output.Write(ch);
                    _word.Clear();
                    _lineLength = 0;
                    continue;
                }
                // Back over the part of the word already on this line, clear to the end, and write it on the next.
                if (wordWidth > 0)
                {
                    output.Write(string.Create(CultureInfo.InvariantCulture, $"\x1b[{wordWidth}D"));
                }
                output.Write("\x1b[K\n");
                output.Write(_word.ToString());
                output.Write(ch);
                _lineLength = wordWidth + chWidth;
            }
            else
            {
                output.Write(ch);
                _lineLength += chWidth;
                if (chWidth >= 2)
                {
                    _word.Clear();
                    continue;
                }
                switch (rune.Value)
                {
                    case ' ' or '\t':
                        _word.Clear();
                        break;
                    case '\n' or '\r':
                        _lineLength = 0;
                        _word.Clear();
                        break;
                    default:
                        _word.Append(ch);
                        break;
                }
            }
        }
        output.Flush();
    }

    static int StringWidth(string s)
    {
        var width = 0;
        foreach (var rune in s.EnumerateRunes())
        {
            width += RuneWidth(rune);
        }
        return width;
    }

    /// <summary>
    /// The columns a character takes (go-runewidth's <c>RuneWidth</c>, simplified): 0 for control and combining marks,
    /// 2 for East Asian wide and full-width characters and emoji, else 1.
    /// </summary>
    internal static int RuneWidth(Rune rune)
    {
        var v = rune.Value;
        if (v < 0x20 || (v >= 0x7F && v < 0xA0))
        {
            return 0;
        }
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format)
        {
            return 0;
        }
        return v is (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0x303E) or (>= 0x3041 and <= 0x33FF)
            or (>= 0x3400 and <= 0x4DBF) or (>= 0x4E00 and <= 0x9FFF) or (>= 0xA000 and <= 0xA4CF)
            or (>= 0xAC00 and <= 0xD7A3) or (>= 0xF900 and <= 0xFAFF) or (>= 0xFE30 and <= 0xFE4F)
            or (>= 0xFF00 and <= 0xFF60) or (>= 0xFFE0 and <= 0xFFE6) or (>= 0x1F300 and <= 0x1F64F)
            or (>= 0x1F900 and <= 0x1F9FF) or (>= 0x20000 and <= 0x3FFFD)
            ? 2
            : 1;
    }
}
