using System.Globalization;
using System.Text;

namespace Quanta.Store;

/// <summary>
/// Ollama's Modelfile grammar, read character by character as its parser reads it (<c>parser/parser.go</c>):
/// an instruction is a command name, spaces, and a value that runs to the end of the line unless it opens a
/// <c>"</c> or <c>"""</c> quote, in which case it runs to the first line end where the quote is closed. No
/// escape sequences; <c>#</c> starts a comment only where an instruction could start; non-printable characters
/// outside quotes are dropped. Three deliberate differences, all for the user's sake: line numbers count a CRLF
/// as one line end (Ollama counts two), extra spaces between PARAMETER or MESSAGE and their name are
/// skipped (Ollama records an empty name), and a command written without a value (a bare <c>FROM</c>) is told
/// so (Ollama says "command must be one of ...", as if the command were unknown).
/// </summary>
internal sealed class ModelfileParser
{
    internal const string InvalidCommandMessage =
        "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", \"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"";

    internal const string InvalidRoleMessage = "message role must be one of \"system\", \"user\", or \"assistant\"";

    enum State
    {
        Start,
        Name,
        ParameterName,
        Role,
        Value,
        Comment,
    }

    readonly List<ModelfileInstruction> _instructions = [];
    readonly StringBuilder _buffer = new();
    State _state = State.Start;
    int _line = 1;
    int _instructionLine;
    ModelfileCommand _command;
    string? _key;

    public static List<ModelfileInstruction> Parse(string text)
    {
        var parser = new ModelfileParser();
        var previous = default(Rune);
        foreach (var rune in text.EnumerateRunes())
        {
            // A line ends at \n, at \r, and once (not twice) at \r\n.
            if (rune.Value == '\n' && previous.Value != '\r' || rune.Value == '\r')
            {
                parser._line++;
            }
            parser.Step(rune);
            previous = rune;
        }
        parser.Finish();
        return parser._instructions;
    }

    void Step(Rune r)
    {
        switch (_state)
        {
            case State.Start:
                if (r.Value == '#')
                {
                    _state = State.Comment;
                }
                else if (!IsSpace(r) && !IsNewline(r))
                {
                    _instructionLine = _line;
                    _buffer.Clear();
                    _state = State.Name;
                    Append(r);
                }
                return;

            case State.Comment:
                if (IsNewline(r))
                {
                    _state = State.Start;
                }
                return;

            case State.Name:
                if (IsAsciiLetter(r))
                {
                    _buffer.Append((char)r.Value);
                }
                else if (IsSpace(r))
                {
                    BeginValue();
                }
                else if (IsNewline(r) && KnownCommand(_buffer.ToString()) is { } bare)
                {
                    // Ollama says "command must be one of ..." for a bare "FROM"; the command is fine, its value is missing.
                    throw new ModelfileException(_instructionLine, MissingValueMessage(bare));
                }
                else
                {
                    throw new ModelfileException(_instructionLine, InvalidCommandMessage);
                }
                return;

            case State.ParameterName:
                if (IsAsciiLetter(r) || r.Value is >= '0' and <= '9' or '_')
                {
                    _buffer.Append((char)r.Value);
                }
                else if (IsSpace(r))
                {
                    if (_buffer.Length > 0)
                    {
                        _key = _buffer.ToString();
                        _buffer.Clear();
                        _state = State.Value;
                    }
                }
                else if (IsNewline(r))
                {
                    throw new ModelfileException(_instructionLine, "PARAMETER needs a name and a value, e.g. PARAMETER temperature 0.7");
                }
                else
                {
                    throw new ModelfileException(_instructionLine,
                        $"invalid character '{r}' in parameter name '{_buffer}'; expected letters, digits or '_'");
                }
                return;

            case State.Role:
                if (IsAsciiLetter(r))
                {
                    _buffer.Append((char)r.Value);
                }
                else if (IsSpace(r))
                {
                    if (_buffer.Length > 0)
                    {
                        var role = _buffer.ToString();
                        if (role is not ("system" or "user" or "assistant"))
                        {
                            throw new ModelfileException(_instructionLine, InvalidRoleMessage);
                        }
                        _key = role;
                        _buffer.Clear();
                        _state = State.Value;
                    }
                }
                else if (IsNewline(r))
                {
                    throw new ModelfileException(_instructionLine, "MESSAGE needs a role and a text, e.g. MESSAGE user Hello");
                }
                else
                {
                    throw new ModelfileException(_instructionLine, InvalidRoleMessage);
                }
                return;

            case State.Value:
                if (IsNewline(r))
                {
                    if (TryUnquote(_buffer.ToString().Trim(' ', '\t', '\r', '\n'), out var value))
                    {
                        Emit(value);
                        _state = State.Start;
                    }
                    else
                    {
                        // An open quote: the line end belongs to the value.
                        Append(r, always: true);
                    }
                }
                else if (IsSpace(r))
                {
                    Append(r, always: true);
                }
                else
                {
                    Append(r);
                }
                return;
        }
    }

    static ModelfileCommand? KnownCommand(string name) =>
        name.Length > 0 && name.All(char.IsAsciiLetter) && Enum.TryParse<ModelfileCommand>(name, ignoreCase: true, out var command) ? command : null;

    /// <summary>What a command written without its value is told: FROM, ADAPTER and DRAFT name a file or a model.</summary>
    internal static string MissingValueMessage(ModelfileCommand command) => command is ModelfileCommand.From or ModelfileCommand.Adapter or ModelfileCommand.Draft
        ? $"{ModelfileInstruction.NameOf(command).ToUpperInvariant()} needs a file path or a model name"
        : $"{ModelfileInstruction.NameOf(command).ToUpperInvariant()} needs a value";

    void BeginValue()
    {
        var name = _buffer.ToString();
        _buffer.Clear();
        if (!Enum.TryParse<ModelfileCommand>(name, ignoreCase: true, out var command) || !name.All(char.IsAsciiLetter))
        {
            throw new ModelfileException(_instructionLine, InvalidCommandMessage);
        }
        _command = command;
        _key = null;
        _state = command switch
        {
            ModelfileCommand.Parameter => State.ParameterName,
            ModelfileCommand.Message => State.Role,
            _ => State.Value,
        };
    }

    void Emit(string value) => _instructions.Add(new ModelfileInstruction(_command, _key, value, _instructionLine));

    void Finish()
    {
        switch (_state)
        {
            case State.Start or State.Comment:
                return;
            case State.Value:
                if (!TryUnquote(_buffer.ToString().Trim(' ', '\t', '\r', '\n'), out var value))
                {
                    var quote = _buffer.ToString().TrimStart().StartsWith("\"\"\"", StringComparison.Ordinal) ? "\"\"\"" : "\"";
                    throw new ModelfileException(_instructionLine, $"unexpected EOF: the value of {ModelfileInstruction.NameOf(_command).ToUpperInvariant()} opens a {quote} quote that is never closed");
                }
                Emit(value);
                return;
            case State.Name:
                throw new ModelfileException(_instructionLine, KnownCommand(_buffer.ToString()) is { } bare ? MissingValueMessage(bare) : $"unexpected EOF: '{_buffer}' has no value");
            default:
                throw new ModelfileException(_instructionLine, $"unexpected EOF: {ModelfileInstruction.NameOf(_command).ToUpperInvariant()} has no value");
        }
    }

    void Append(Rune r, bool always = false)
    {
        if (always || IsPrint(r))
        {
            _buffer.Append(r.ToString());
        }
    }

    /// <summary>
    /// Ollama's <c>unquote</c>: <c>"""x"""</c> and <c>"x"</c> lose their quotes; an opened quote that is not
    /// closed is "not yet balanced"; anything else is taken as it is.
    /// </summary>
    internal static bool TryUnquote(string s, out string value)
    {
        if (s.StartsWith("\"\"\"", StringComparison.Ordinal))
        {
            if (s.Length >= 6 && s.EndsWith("\"\"\"", StringComparison.Ordinal))
            {
                value = s[3..^3];
                return true;
            }
            value = "";
            return false;
        }
        if (s.StartsWith('"'))
        {
            if (s.Length >= 2 && s.EndsWith('"'))
            {
                value = s[1..^1];
                return true;
            }
            value = "";
            return false;
        }
        value = s;
        return true;
    }

    static bool IsSpace(Rune r) => r.Value is ' ' or '\t';

    static bool IsNewline(Rune r) => r.Value is '\r' or '\n';

    static bool IsAsciiLetter(Rune r) => r.Value is >= 'a' and <= 'z' or >= 'A' and <= 'Z';

    /// <summary>Go's <c>strconv.IsPrint</c>: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    static bool IsPrint(Rune r)
    {
        if (r.Value == ' ')
        {
            return true;
        }
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation
                or UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol => true,
            _ => false,
        };
    }
}
