using System.Text;

namespace Quanta.Templates.Go;

/// <summary>The kinds of token <see cref="Lexer"/> produces (Go's <c>itemType</c>; keywords after <see cref="Keyword"/>).</summary>
internal enum TokenKind
{
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// <summary>One token: its kind, where it starts (a char index), its text and the line it starts on.</summary>
internal readonly record struct Token(TokenKind Kind, int Position, string Value, int Line)
{
    /// <summary>The token as Go's error messages show it (<c>item.String</c>): <c>EOF</c>, <c>&lt;if&gt;</c>, <c>"abc"</c>.</summary>
    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "EOF",
        TokenKind.Error => Value,
        > TokenKind.Keyword => $"<{Value}>",
        // Go compares the length in bytes and keeps ten characters.
        _ when Encoding.UTF8.GetByteCount(Value) > 10 => GoSyntax.Quote(Value, 10) + "...",
        _ => GoSyntax.Quote(Value),
    };
}

/// <summary>
/// The scanner of Go's <c>text/template/parse/lex.go</c>, state for state: text up to <c>{{</c>, comments,
/// <c>{{- </c>/<c> -}}</c> trimming (done here, so the parser never sees the trimmed space), and the tokens inside
/// an action. Errors are tokens of kind <see cref="TokenKind.Error"/> carrying Go's message; after one, only
/// <see cref="TokenKind.Eof"/> follows.
/// </summary>
internal sealed class Lexer
{
    const string LeftDelim = "{{";
    const string RightDelim = "}}";
    const string LeftComment = "/*";
    const string RightComment = "*/";
    const char TrimMarker = '-';
    const int TrimMarkerLength = 2; // the marker and the space beside it
    const int Eof = -1;

    enum State { Text, LeftDelim, Comment, RightDelim, InsideAction, Space, Identifier, Field, Variable, Char, Number, Quote, RawQuote }

    static readonly Dictionary<string, TokenKind> Keywords = new(StringComparer.Ordinal)
    {
        ["."] = TokenKind.Dot,
        ["block"] = TokenKind.Block,
        ["break"] = TokenKind.Break,
        ["continue"] = TokenKind.Continue,
        ["define"] = TokenKind.Define,
        ["else"] = TokenKind.Else,
        ["end"] = TokenKind.End,
        ["if"] = TokenKind.If,
        ["range"] = TokenKind.Range,
        ["nil"] = TokenKind.Nil,
        ["template"] = TokenKind.Template,
        ["with"] = TokenKind.With,
    };

    string _input;
    int _pos;
    int _start;
    bool _atEof;
    int _parenDepth;
    int _line = 1;
    int _startLine = 1;
    Token _item;
    bool _insideAction;

    public Lexer(string input, bool breakOk, bool continueOk)
    {
        _input = input;
        BreakOk = breakOk;
        ContinueOk = continueOk;
    }

    /// <summary>False when a function named <c>break</c> exists: then the word is that function, not the keyword.</summary>
    public bool BreakOk { get; }

    public bool ContinueOk { get; }

    public Token NextToken()
    {
        _item = new Token(TokenKind.Eof, _pos, "EOF", _startLine);
        State? state = _insideAction ? State.InsideAction : State.Text;
        while (state is { } s)
        {
            state = Step(s);
        }
        return _item;
    }

    State? Step(State state) => state switch
    {
        State.Text => LexText(),
        State.LeftDelim => LexLeftDelim(),
        State.Comment => LexComment(),
        State.RightDelim => LexRightDelim(),
        State.InsideAction => LexInsideAction(),
        State.Space => LexSpace(),
        State.Identifier => LexIdentifier(),
        State.Field => LexFieldOrVariable(TokenKind.Field),
        State.Variable => LexVariable(),
        State.Char => LexChar(),
        State.Number => LexNumber(),
        State.Quote => LexQuote(),
        State.RawQuote => LexRawQuote(),
        _ => throw new InvalidOperationException(state.ToString()),
    };

    int Next()
    {
        if (_pos >= _input.Length)
        {
            _atEof = true;
            return Eof;
        }
        var r = ReadRune(_pos, out var width);
        _pos += width;
        if (r == '\n')
        {
            _line++;
        }
        return r;
    }

    int ReadRune(int at, out int width)
    {
        if (Rune.DecodeFromUtf16(_input.AsSpan(at), out var rune, out width) == System.Buffers.OperationStatus.Done)
        {
            return rune.Value;
        }
        width = 1;
        return 0xFFFD;
    }

    int Peek()
    {
        var r = Next();
        Backup();
        return r;
    }

    /// <summary>Steps back one character; like Go's, it does nothing once the end of the input was read.</summary>
    void Backup()
    {
        if (!_atEof && _pos > 0)
        {
            Rune.DecodeLastFromUtf16(_input.AsSpan(0, _pos), out var rune, out var width);
            _pos -= Math.Max(width, 1);
            if (rune.Value == '\n')
            {
                _line--;
            }
        }
    }

    Token ThisItem(TokenKind kind)
    {
        var token = new Token(kind, _start, _input[_start.._pos], _startLine);
        _start = _pos;
        _startLine = _line;
        return token;
    }

    State? Emit(TokenKind kind) => EmitItem(ThisItem(kind));

    State? EmitItem(Token token)
    {
        _item = token;
        return null;
    }

    /// <summary>Skips the pending input, counting its newlines (for text skipped without <see cref="Next"/>).</summary>
    void Ignore()
    {
        _line += CountNewlines(_start, _pos);
        _start = _pos;
        _startLine = _line;
    }

    int CountNewlines(int from, int to) => _input.AsSpan(from, to - from).Count('\n');

    bool Accept(string valid)
    {
        var r = Next();
        if (r is >= 0 and < 0x10000 && valid.Contains((char)r, StringComparison.Ordinal))
        {
            return true;
        }
        Backup();
        return false;
    }

    void AcceptRun(string valid)
    {
        while (Accept(valid))
        {
        }
    }

    /// <summary>An error token; the input is dropped so that only EOF follows.</summary>
    State? Errorf(string message)
    {
        _item = new Token(TokenKind.Error, _start, message, _startLine);
        _start = 0;
        _pos = 0;
        _input = "";
        return null;
    }

    bool HasAt(int at, string s) => at <= _input.Length && _input.AsSpan(at).StartsWith(s, StringComparison.Ordinal);

    static bool IsSpace(int r) => r is ' ' or '\t' or '\r' or '\n';

    static bool IsAlphaNumeric(int r) => r == '_' || r >= 0 && Rune.IsValid(r) && (Rune.IsLetter(new Rune(r)) || Rune.IsDigit(new Rune(r)));

    bool HasLeftTrimMarker(int at) => _input.Length - at >= 2 && _input[at] == TrimMarker && IsSpace(_input[at + 1]);

    bool HasRightTrimMarker(int at) => _input.Length - at >= 2 && IsSpace(_input[at]) && _input[at + 1] == TrimMarker;

    State? LexText()
    {
        var x = _input.IndexOf(LeftDelim, _pos, StringComparison.Ordinal);
        if (x >= 0)
        {
            if (x > _pos)
            {
                _pos = x;
                // Trim the space before "{{- ".
                var trimLength = 0;
                if (HasLeftTrimMarker(_pos + LeftDelim.Length))
                {
                    trimLength = RightTrimLength(_start, _pos);
                }
                _pos -= trimLength;
                _line += CountNewlines(_start, _pos);
                var text = ThisItem(TokenKind.Text);
                _pos += trimLength;
                Ignore();
                if (text.Value.Length > 0)
                {
                    return EmitItem(text);
                }
            }
            return State.LeftDelim;
        }
        _pos = _input.Length;
        if (_pos > _start)
        {
            _line += CountNewlines(_start, _pos);
            return Emit(TokenKind.Text);
        }
        return Emit(TokenKind.Eof);
    }

    int RightTrimLength(int from, int to)
    {
        var end = to;
        while (end > from && IsSpace(_input[end - 1]))
        {
            end--;
        }
        return to - end;
    }

    int LeftTrimLength(int from)
    {
        var end = from;
        while (end < _input.Length && IsSpace(_input[end]))
        {
            end++;
        }
        return end - from;
    }

    (bool Delim, bool TrimSpaces) AtRightDelim()
    {
        if (HasRightTrimMarker(_pos) && HasAt(_pos + TrimMarkerLength, RightDelim))
        {
            return (true, true);
        }
        return (HasAt(_pos, RightDelim), false);
    }

    State? LexLeftDelim()
    {
        _pos += LeftDelim.Length;
        var trimSpace = HasLeftTrimMarker(_pos);
        var afterMarker = trimSpace ? TrimMarkerLength : 0;
        if (HasAt(_pos + afterMarker, LeftComment))
        {
            _pos += afterMarker;
            Ignore();
            return State.Comment;
        }
        var delim = ThisItem(TokenKind.LeftDelim);
        _insideAction = true;
        _pos += afterMarker;
        Ignore();
        _parenDepth = 0;
        return EmitItem(delim);
    }

    State? LexComment()
    {
        _pos += LeftComment.Length;
        var x = _input.IndexOf(RightComment, _pos, StringComparison.Ordinal);
        if (x < 0)
        {
            return Errorf("unclosed comment");
        }
        _pos = x + RightComment.Length;
        var (delim, trimSpace) = AtRightDelim();
        if (!delim)
        {
            return Errorf("comment ends before closing delimiter");
        }
        // Comments are not kept (Go keeps them only in ParseComments mode, which text/template does not use).
        _line += CountNewlines(_start, _pos);
        ThisItem(TokenKind.Comment);
        if (trimSpace)
        {
            _pos += TrimMarkerLength;
        }
        _pos += RightDelim.Length;
        if (trimSpace)
        {
            _pos += LeftTrimLength(_pos);
        }
        Ignore();
        return State.Text;
    }

    State? LexRightDelim()
    {
        var (_, trimSpace) = AtRightDelim();
        if (trimSpace)
        {
            _pos += TrimMarkerLength;
            Ignore();
        }
        _pos += RightDelim.Length;
        var delim = ThisItem(TokenKind.RightDelim);
        if (trimSpace)
        {
            _pos += LeftTrimLength(_pos);
            Ignore();
        }
        _insideAction = false;
        return EmitItem(delim);
    }

    State? LexInsideAction()
    {
        var (delim, _) = AtRightDelim();
        if (delim)
        {
            return _parenDepth == 0 ? State.RightDelim : Errorf("unclosed left paren");
        }
        var r = Next();
        switch (r)
        {
            case Eof:
                return Errorf("unclosed action");
            case ' ' or '\t' or '\r' or '\n':
                Backup(); // the space may start " -}}"
                return State.Space;
            case '=':
                return Emit(TokenKind.Assign);
            case ':':
                return Next() != '=' ? Errorf("expected :=") : Emit(TokenKind.Declare);
            case '|':
                return Emit(TokenKind.Pipe);
            case '"':
                return State.Quote;
            case '`':
                return State.RawQuote;
            case '$':
                return State.Variable;
            case '\'':
                return State.Char;
            case '.':
                // ".field", unless a digit follows: then '.' starts a number.
                if (_pos < _input.Length && _input[_pos] is < '0' or > '9')
                {
                    return State.Field;
                }
                Backup();
                return State.Number;
            case '+' or '-' or (>= '0' and <= '9'):
                Backup();
                return State.Number;
            case '(':
                _parenDepth++;
                return Emit(TokenKind.LeftParen);
            case ')':
                _parenDepth--;
                return _parenDepth < 0 ? Errorf("unexpected right paren") : Emit(TokenKind.RightParen);
        }
        if (IsAlphaNumeric(r))
        {
            Backup();
            return State.Identifier;
        }
        if (r <= 0x7f && GoSyntax.IsPrint(new Rune(r)))
        {
            return Emit(TokenKind.Char);
        }
        return Errorf($"unrecognized character in action: {GoSyntax.DescribeRune(new Rune(r))}");
    }

    /// <summary>A run of spaces; careful with a trim-marked right delimiter, which starts with a space.</summary>
    State? LexSpace()
    {
        var spaces = 0;
        while (IsSpace(Peek()))
        {
            Next();
            spaces++;
        }
        if (HasRightTrimMarker(_pos - 1) && HasAt(_pos - 1 + TrimMarkerLength, RightDelim))
        {
            Backup(); // before the space
            if (spaces == 1)
            {
                return State.RightDelim;
            }
        }
        return Emit(TokenKind.Space);
    }

    State? LexIdentifier()
    {
        while (true)
        {
            var r = Next();
            if (IsAlphaNumeric(r))
            {
                continue;
            }
            Backup();
            var word = _input[_start.._pos];
            if (!AtTerminator())
            {
                return Errorf($"bad character {GoSyntax.DescribeRune(new Rune(r))}");
            }
            if (Keywords.TryGetValue(word, out var keyword) && keyword > TokenKind.Keyword)
            {
                if (keyword == TokenKind.Break && !BreakOk || keyword == TokenKind.Continue && !ContinueOk)
                {
                    return Emit(TokenKind.Identifier);
                }
                return Emit(keyword);
            }
            if (word[0] == '.')
            {
                return Emit(TokenKind.Field);
            }
            return Emit(word is "true" or "false" ? TokenKind.Bool : TokenKind.Identifier);
        }
    }

    State? LexVariable() => AtTerminator() ? Emit(TokenKind.Variable) : LexFieldOrVariable(TokenKind.Variable);

    State? LexFieldOrVariable(TokenKind kind)
    {
        if (AtTerminator())
        {
            // Nothing interesting follows: "." or "$".
            return Emit(kind == TokenKind.Variable ? TokenKind.Variable : TokenKind.Dot);
        }
        int r;
        while (true)
        {
            r = Next();
            if (!IsAlphaNumeric(r))
            {
                Backup();
                break;
            }
        }
        if (!AtTerminator())
        {
            return Errorf($"bad character {GoSyntax.DescribeRune(new Rune(r))}");
        }
        return Emit(kind);
    }

    /// <summary>Whether what follows may end an identifier: space, end, <c>. , | : ( )</c> or the right delimiter.</summary>
    bool AtTerminator()
    {
        var r = Peek();
        if (IsSpace(r))
        {
            return true;
        }
        if (r is Eof or '.' or ',' or '|' or ':' or ')' or '(')
        {
            return true;
        }
        return HasAt(_pos, RightDelim);
    }

    State? LexChar()
    {
        while (true)
        {
            switch (Next())
            {
                case '\\':
                    var escaped = Next();
                    if (escaped is not (Eof or '\n'))
                    {
                        continue;
                    }
                    return Errorf("unterminated character constant");
                case Eof or '\n':
                    return Errorf("unterminated character constant");
                case '\'':
                    return Emit(TokenKind.CharConstant);
            }
        }
    }

    /// <summary>
    /// A number: decimal, octal, hex, binary, float or imaginary. Like Go's, the scan is loose (it takes "089");
    /// the parser's number conversion rejects what is not a number.
    /// </summary>
    State? LexNumber()
    {
        if (!ScanNumber())
        {
            return Errorf($"bad number syntax: {GoSyntax.Quote(_input[_start.._pos])}");
        }
        var sign = Peek();
        if (sign is '+' or '-')
        {
            // Complex: 1+2i, no spaces, ending in 'i'.
            if (!ScanNumber() || _input[_pos - 1] != 'i')
            {
                return Errorf($"bad number syntax: {GoSyntax.Quote(_input[_start.._pos])}");
            }
            return Emit(TokenKind.Complex);
        }
        return Emit(TokenKind.Number);
    }

    bool ScanNumber()
    {
        Accept("+-");
        var digits = "0123456789_";
        if (Accept("0"))
        {
            // A leading 0 does not mean octal in floats.
            if (Accept("xX"))
            {
                digits = "0123456789abcdefABCDEF_";
            }
            else if (Accept("oO"))
            {
                digits = "01234567_";
            }
            else if (Accept("bB"))
            {
                digits = "01_";
            }
        }
        AcceptRun(digits);
        if (Accept("."))
        {
            AcceptRun(digits);
        }
        if (digits.Length == 10 + 1 && Accept("eE"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }
        if (digits.Length == 16 + 6 + 1 && Accept("pP"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }
        Accept("i");
        // The next thing must not be alphanumeric.
        if (IsAlphaNumeric(Peek()))
        {
            Next();
            return false;
        }
        return true;
    }

    State? LexQuote()
    {
        while (true)
        {
            switch (Next())
            {
                case '\\':
                    var escaped = Next();
                    if (escaped is not (Eof or '\n'))
                    {
                        continue;
                    }
                    return Errorf("unterminated quoted string");
                case Eof or '\n':
                    return Errorf("unterminated quoted string");
                case '"':
                    return Emit(TokenKind.String);
            }
        }
    }

    State? LexRawQuote()
    {
        while (true)
        {
            switch (Next())
            {
                case Eof:
                    return Errorf("unterminated raw quoted string");
                case '`':
                    return Emit(TokenKind.RawString);
            }
        }
    }
}
