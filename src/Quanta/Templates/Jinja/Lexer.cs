using System.Text;
using System.Text.RegularExpressions;

namespace Quanta.Templates.Jinja;

enum TokenType
{
    Text, NumericLiteral, StringLiteral, Identifier, Equals, OpenParen, CloseParen, OpenStatement, CloseStatement,
    OpenExpression, CloseExpression, OpenSquareBracket, CloseSquareBracket, OpenCurlyBracket, CloseCurlyBracket,
    Comma, Dot, Colon, Pipe, AdditiveBinaryOperator, MultiplicativeBinaryOperator, ExponentiationBinaryOperator,
    ComparisonBinaryOperator, UnaryOperator, Comment,
}

/// <summary>A token with where it starts in the original template text (a char offset).</summary>
sealed record Token(string Value, TokenType Type, int Offset);

/// <summary>
/// Splits a chat template into tokens as @huggingface/jinja's <c>tokenize</c> does with <c>lstrip_blocks</c> and
/// <c>trim_blocks</c> (how transformers.js renders chat templates): one trailing newline dropped, spaces before a
/// block tag and the newline after one removed, <c>{% generation %}</c> tags dropped, then text, tags and
/// expression tokens with <c>-</c> whitespace control. Every token keeps its offset in the original text so errors
/// name the template's own line even where preprocessing removed newlines.
/// </summary>
static partial class Lexer
{
    static readonly (string Sequence, TokenType Type)[] Rules =
    [
        ("{%", TokenType.OpenStatement), ("%}", TokenType.CloseStatement),
        ("{{", TokenType.OpenExpression), ("}}", TokenType.CloseExpression),
        ("(", TokenType.OpenParen), (")", TokenType.CloseParen),
        ("{", TokenType.OpenCurlyBracket), ("}", TokenType.CloseCurlyBracket),
        ("[", TokenType.OpenSquareBracket), ("]", TokenType.CloseSquareBracket),
        (",", TokenType.Comma), (".", TokenType.Dot), (":", TokenType.Colon), ("|", TokenType.Pipe),
        ("<=", TokenType.ComparisonBinaryOperator), (">=", TokenType.ComparisonBinaryOperator),
        ("==", TokenType.ComparisonBinaryOperator), ("!=", TokenType.ComparisonBinaryOperator),
        ("<", TokenType.ComparisonBinaryOperator), (">", TokenType.ComparisonBinaryOperator),
        ("+", TokenType.AdditiveBinaryOperator), ("-", TokenType.AdditiveBinaryOperator), ("~", TokenType.AdditiveBinaryOperator),
        ("**", TokenType.ExponentiationBinaryOperator),
        ("*", TokenType.MultiplicativeBinaryOperator), ("//", TokenType.MultiplicativeBinaryOperator),
        ("/", TokenType.MultiplicativeBinaryOperator), ("%", TokenType.MultiplicativeBinaryOperator),
        ("=", TokenType.Equals),
    ];

    // JavaScript's multiline ^ matches after \n, \r, U+2028 and U+2029; .NET's only after \n.
    [GeneratedRegex("(?<=^|[\n\r\u2028\u2029])[ \t]*(\\{[#%-])")]
    private static partial Regex LeadingBlockSpace();

    [GeneratedRegex("([#%-]\\})\n")]
    private static partial Regex NewlineAfterBlock();

    [GeneratedRegex("\\{%(-?)\\s*(?:end)?generation\\s*(-?)%\\}(\\s*)", RegexOptions.Singleline)]
    private static partial Regex GenerationTag();

    /// <summary>JavaScript's white space and line terminators (what <c>String.prototype.trim</c> removes).</summary>
    internal static bool IsWhitespace(char c) => c <= 32
        ? c == 32 || (c >= 9 && c <= 13)
        : c > 127 && (c == 160 || c == 5760 || (c >= 8192 && c <= 8202) || c == 8232 || c == 8233 || c == 8239 || c == 8287 || c == 12288 || c == 65279);

    static bool IsWord(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    static bool IsDigit(char c) => c is >= '0' and <= '9';

    /// <summary>Text plus, for each of its chars, the offset of that char in the original template.</summary>
    sealed class Mapped(string text, int[] origin)
    {
        public string Text { get; } = text;

        public int[] Origin { get; } = origin;

        public int OriginOf(int index) => index < Origin.Length ? Origin[index] : (Origin.Length == 0 ? 0 : Origin[^1] + 1);

        /// <summary>Replaces every match by the pieces <paramref name="keep"/> picks out of it (ranges of the text).</summary>
        public Mapped Rewrite(Regex regex, Func<Match, IEnumerable<(int Start, int Length)>> keep)
        {
            var sb = new StringBuilder(Text.Length);
            var origin = new List<int>(Text.Length);
            int last = 0;
            void Copy(int start, int length)
            {
                sb.Append(Text, start, length);
                for (int i = start; i < start + length; i++)
                {
                    origin.Add(Origin[i]);
                }
            }
            foreach (Match m in regex.Matches(Text))
            {
                Copy(last, m.Index - last);
                foreach (var (start, length) in keep(m))
                {
                    Copy(start, length);
                }
                last = m.Index + m.Length;
            }
            Copy(last, Text.Length - last);
            return new Mapped(sb.ToString(), [.. origin]);
        }
    }

    static Mapped Preprocess(string template)
    {
        var text = template.EndsWith('\n') ? template[..^1] : template;
        var mapped = new Mapped(text, [.. Enumerable.Range(0, text.Length)]);
        mapped = mapped.Rewrite(LeadingBlockSpace(), m => [(m.Groups[1].Index, m.Groups[1].Length)]);
        mapped = mapped.Rewrite(NewlineAfterBlock(), m => [(m.Groups[1].Index, m.Groups[1].Length)]);
        // {% generation %} marks (assistant masks for training) render as nothing; a '-' strips as usual.
        var generation = GenerationTag().Matches(mapped.Text);
        if (generation.Count == 0)
        {
            return mapped;
        }
        var sb = new StringBuilder();
        var origin = new List<int>();
        void Copy(int start, int end)
        {
            sb.Append(mapped.Text, start, end - start);
            origin.AddRange(mapped.Origin[start..end]);
        }
        int last = 0;
        foreach (Match m in generation)
        {
            int endIndex = m.Index;
            while (m.Groups[1].Length > 0 && endIndex > last && IsWhitespace(mapped.Text[endIndex - 1]))
            {
                --endIndex;
            }
            Copy(last, endIndex);
            if (m.Groups[2].Length == 0)
            {
                Copy(m.Groups[3].Index, m.Groups[3].Index + m.Groups[3].Length);
            }
            last = m.Index + m.Length;
        }
        Copy(last, mapped.Text.Length);
        return new Mapped(sb.ToString(), [.. origin]);
    }

    public static List<Token> Tokenize(string source)
    {
        var mapped = Preprocess(source);
        var src = mapped.Text;
        int length = src.Length;
        var tokens = new List<Token>();
        int pos = 0;
        int curlyDepth = 0;

        JinjaError Fail(string message) => new(message);

        string ConsumeWhile(Func<char, bool> predicate)
        {
            int start = pos;
            while (predicate(src[pos]))
            {
                if (++pos >= length)
                {
                    throw Fail("Unexpected end of input");
                }
            }
            return src[start..pos];
        }

        string ConsumeString(char quote)
        {
            var sb = new StringBuilder();
            int start = pos;
            while (true)
            {
                if (pos >= length)
                {
                    throw Fail("Unexpected end of input");
                }
                char c = src[pos];
                if (c == quote)
                {
                    break;
                }
                ++pos;
                if (c != '\\')
                {
                    continue;
                }
                sb.Append(src, start, pos - 1 - start);
                if (pos >= length)
                {
                    throw Fail("Unexpected end of input");
                }
                char escaped = src[pos++];
                if (escaped is 'x' or 'u')
                {
                    int hexLength = escaped == 'x' ? 2 : 4;
                    var hex = src.Substring(pos, Math.Min(hexLength, length - pos));
                    if (hex.Length != hexLength || !hex.All(Uri.IsHexDigit))
                    {
                        throw Fail($"Invalid hexadecimal escape sequence: \\{escaped}{hex}");
                    }
                    sb.Append((char)Convert.ToInt32(hex, 16));
                    pos += hexLength;
                }
                else
                {
                    sb.Append(escaped switch
                    {
                        'n' => "\n",
                        't' => "\t",
                        'r' => "\r",
                        'b' => "\b",
                        'f' => "\f",
                        'v' => "\v",
                        '\'' => "'",
                        '"' => "\"",
                        '\\' => "\\",
                        _ => throw Fail($"Unexpected escaped character: {escaped}"),
                    });
                }
                start = pos;
            }
            return sb.Append(src, start, pos - start).ToString();
        }

        void StripTrailingWhitespace()
        {
            if (tokens.Count > 0 && tokens[^1].Type == TokenType.Text)
            {
                var trimmed = tokens[^1].Value.TrimEnd(JsWhitespace);
                if (trimmed.Length == 0)
                {
                    tokens.RemoveAt(tokens.Count - 1);
                }
                else
                {
                    tokens[^1] = tokens[^1] with { Value = trimmed };
                }
            }
        }

        void SkipLeadingWhitespace()
        {
            while (pos < length && IsWhitespace(src[pos]))
            {
                ++pos;
            }
        }

        void Add(string value, TokenType type, int at) => tokens.Add(new Token(value, type, mapped.OriginOf(at)));

        try
        {
            while (pos < length)
            {
                TokenType? lastType = tokens.Count == 0 ? null : tokens[^1].Type;
                if (lastType is null or TokenType.CloseStatement or TokenType.CloseExpression or TokenType.Comment)
                {
                    int end = pos;
                    while (true)
                    {
                        end = src.IndexOf('{', end);
                        if (end == -1)
                        {
                            end = length;
                            break;
                        }
                        if (end + 1 < length && src[end + 1] is '%' or '{' or '#')
                        {
                            break;
                        }
                        ++end;
                    }
                    if (end > pos)
                    {
                        Add(src[pos..end], TokenType.Text, pos);
                        pos = end;
                        continue;
                    }
                }
                if (src[pos] == '{')
                {
                    char next = pos + 1 < length ? src[pos + 1] : '\0';
                    if (next == '#')
                    {
                        int open = pos;
                        pos += 2;
                        bool stripBefore = pos < length && src[pos] == '-';
                        if (stripBefore)
                        {
                            ++pos;
                        }
                        int end = src.IndexOf("#}", pos, StringComparison.Ordinal);
                        if (end == -1)
                        {
                            throw Fail("Missing end of comment tag");
                        }
                        var comment = src[pos..end];
                        bool stripAfter = comment.EndsWith('-');
                        if (stripAfter)
                        {
                            comment = comment[..^1];
                        }
                        if (stripBefore)
                        {
                            StripTrailingWhitespace();
                        }
                        Add(comment, TokenType.Comment, open);
                        pos = end + 2;
                        if (stripAfter)
                        {
                            SkipLeadingWhitespace();
                        }
                        continue;
                    }
                    if (pos + 2 < length && src[pos + 2] == '-')
                    {
                        if (next == '%')
                        {
                            StripTrailingWhitespace();
                            Add("{%", TokenType.OpenStatement, pos);
                            pos += 3;
                            continue;
                        }
                        if (next == '{')
                        {
                            StripTrailingWhitespace();
                            Add("{{", TokenType.OpenExpression, pos);
                            curlyDepth = 0;
                            pos += 3;
                            continue;
                        }
                    }
                }
                ConsumeWhile(IsWhitespace);
                char ch = src[pos];
                if (ch == '-' && pos + 2 < length && src[pos + 2] == '}')
                {
                    char next = src[pos + 1];
                    if (next == '%')
                    {
                        Add("%}", TokenType.CloseStatement, pos);
                        pos += 3;
                        SkipLeadingWhitespace();
                        continue;
                    }
                    if (next == '}')
                    {
                        Add("}}", TokenType.CloseExpression, pos);
                        pos += 3;
                        SkipLeadingWhitespace();
                        continue;
                    }
                }
                if (ch is '-' or '+')
                {
                    if (lastType is null or TokenType.Text)
                    {
                        throw Fail($"Unexpected character: {ch}");
                    }
                    if (lastType is not (TokenType.Identifier or TokenType.NumericLiteral or TokenType.StringLiteral or TokenType.CloseParen or TokenType.CloseSquareBracket))
                    {
                        // A sign after an operator: a signed number literal, or a unary operator.
                        int at = pos;
                        ++pos;
                        var num = ConsumeWhile(IsDigit);
                        if (num.Length > 0 && src[pos] == '.' && pos + 1 < length && IsDigit(src[pos + 1]))
                        {
                            ++pos;
                            num = $"{num}.{ConsumeWhile(IsDigit)}";
                        }
                        Add(ch + num, num.Length > 0 ? TokenType.NumericLiteral : TokenType.UnaryOperator, at);
                        continue;
                    }
                }
                bool matched = false;
                foreach (var (sequence, type) in Rules)
                {
                    if (sequence[0] != ch || (sequence == "}}" && curlyDepth > 0) || string.CompareOrdinal(src, pos, sequence, 0, sequence.Length) != 0)
                    {
                        continue;
                    }
                    Add(sequence, type, pos);
                    if (type == TokenType.OpenExpression)
                    {
                        curlyDepth = 0;
                    }
                    else if (type == TokenType.OpenCurlyBracket)
                    {
                        ++curlyDepth;
                    }
                    else if (type == TokenType.CloseCurlyBracket)
                    {
                        --curlyDepth;
                    }
                    pos += sequence.Length;
                    matched = true;
                    break;
                }
                if (matched)
                {
                    continue;
                }
                if (ch is '\'' or '"')
                {
                    int at = pos;
                    ++pos;
                    var str = ConsumeString(ch);
                    Add(str, TokenType.StringLiteral, at);
                    ++pos;
                    continue;
                }
                if (IsDigit(ch))
                {
                    int at = pos;
                    var num = ConsumeWhile(IsDigit);
                    if (lastType != TokenType.Dot && pos < length && src[pos] == '.' && pos + 1 < length && IsDigit(src[pos + 1]))
                    {
                        ++pos;
                        num = $"{num}.{ConsumeWhile(IsDigit)}";
                    }
                    Add(num, TokenType.NumericLiteral, at);
                    continue;
                }
                if (IsWord(ch))
                {
                    int at = pos;
                    Add(ConsumeWhile(IsWord), TokenType.Identifier, at);
                    continue;
                }
                throw Fail($"Unexpected character: {ch}");
            }
        }
        catch (JinjaError e) when (pos < length)
        {
            var (line, column) = Position(source, mapped.OriginOf(pos));
            throw new JinjaException(e.Message, line, column);
        }
        catch (Exception e) when (e is JinjaError or IndexOutOfRangeException)
        {
            // Ran off the end: name the tag left open, which is where the fix goes.
            var open = tokens.LastOrDefault(t => t.Type is TokenType.OpenExpression or TokenType.OpenStatement);
            var (line, column) = Position(source, open?.Offset ?? mapped.OriginOf(length));
            throw new JinjaException(e is JinjaError ? e.Message : "Unexpected end of input", line, column);
        }
        return tokens;
    }

    static readonly char[] JsWhitespace = [.. Enumerable.Range(0, 65536).Select(i => (char)i).Where(IsWhitespace)];

    /// <summary>Removes JavaScript white space from the end of a string (<c>trimEnd</c>).</summary>
    internal static string TrimEndJs(string s) => s.TrimEnd(JsWhitespace);

    /// <summary>Removes JavaScript white space from the start of a string (<c>trimStart</c>).</summary>
    internal static string TrimStartJs(string s) => s.TrimStart(JsWhitespace);

    /// <summary>Removes JavaScript white space from both ends (<c>trim</c>).</summary>
    internal static string TrimJs(string s) => s.Trim(JsWhitespace);

    /// <summary>The 1-based line and column of a char offset.</summary>
    internal static (int Line, int Column) Position(string text, int offset)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < Math.Min(offset, text.Length); i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, offset - lineStart + 1);
    }
}
