using System.Text;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The GBNF parser of llama.cpp (<c>llama_grammar_parser</c>, src/llama-grammar.cpp, February 2025), over the
/// grammar's UTF-8 bytes as llama.cpp reads them: rules <c>name ::= alternatives</c>, literals, character
/// classes with ranges and negation, <c>.</c>, groups, the repetitions <c>* + ? {m} {m,} {m,n}</c> rewritten
/// into generated rules as llama.cpp rewrites them (so rule ids match), <c>#</c> comments and the escapes
/// <c>\x \u \U \t \r \n \\ \" \[ \]</c>. Where llama.cpp prints "error parsing grammar" this throws a
/// <see cref="GbnfFormatException"/> with the line and column.
/// </summary>
sealed class GbnfParser
{
    readonly byte[] src; // the grammar's UTF-8 bytes and a terminating 0, as the C parser walks them
    readonly Dictionary<string, int> symbols = new(StringComparer.Ordinal);
    readonly Dictionary<int, int> firstReference = [];
    readonly List<GrammarElement[]?> rules = [];

    GbnfParser(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        src = new byte[bytes.Length + 1];
        bytes.CopyTo(src, 0);
    }

    public static GbnfGrammar Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new GbnfParser(text);
        var pos = parser.ParseSpace(0, newlineOk: true);
        while (parser.src[pos] != 0)
        {
            pos = parser.ParseRule(pos);
        }
        parser.CheckDefined();
        return new GbnfGrammar([.. parser.rules.Select(r => r!)], parser.symbols);
    }

    GbnfFormatException Error(string message, int pos)
    {
        var before = Encoding.UTF8.GetString(src, 0, Math.Min(pos, src.Length - 1));
        var line = 1 + before.Count(c => c == '\n');
        var column = before.Length - (before.LastIndexOf('\n') + 1) + 1;
        return new GbnfFormatException(message, line, column);
    }

    string SymbolName(int id) => symbols.First(kv => kv.Value == id).Key;

    // llama.cpp only says "Undefined rule"; naming the rule and where it is first used is kinder.
    void CheckDefined()
    {
        for (var id = 0; id < symbols.Count; id++)
        {
            if (id >= rules.Count || rules[id] is null)
            {
                var message = $"undefined rule identifier '{SymbolName(id)}'";
                throw firstReference.TryGetValue(id, out var at) ? Error(message, at) : new GbnfFormatException(message);
            }
        }
    }

    int GetSymbolId(int start, int length)
    {
        var name = Encoding.UTF8.GetString(src, start, length);
        if (!symbols.TryGetValue(name, out var id))
        {
            id = symbols.Count;
            symbols[name] = id;
        }
        return id;
    }

    int GenerateSymbolId(string baseName)
    {
        var id = symbols.Count;
        symbols[$"{baseName}_{id}"] = id;
        return id;
    }

    void AddRule(int id, List<GrammarElement> rule)
    {
        while (rules.Count <= id)
        {
            rules.Add(null);
        }
        rules[id] = [.. rule];
    }

    static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    static bool IsWordChar(byte c) => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'-' || IsDigit(c);

    int ParseSpace(int pos, bool newlineOk)
    {
        while (src[pos] is (byte)' ' or (byte)'\t' or (byte)'#' || (newlineOk && src[pos] is (byte)'\r' or (byte)'\n'))
        {
            if (src[pos] == '#')
            {
                while (src[pos] != 0 && src[pos] != '\r' && src[pos] != '\n')
                {
                    pos++;
                }
            }
            else
            {
                pos++;
            }
        }
        return pos;
    }

    int ParseName(int pos)
    {
        var start = pos;
        while (IsWordChar(src[pos]))
        {
            pos++;
        }
        return pos != start ? pos : throw Error("expecting name", start);
    }

    int ParseInt(int pos)
    {
        var start = pos;
        while (IsDigit(src[pos]))
        {
            pos++;
        }
        return pos != start ? pos : throw Error("expecting integer", start);
    }

    (uint Value, int End) ParseHex(int pos, int size)
    {
        var end = pos + size;
        uint value = 0;
        var p = pos;
        for (; p < end && src[p] != 0; p++)
        {
            var c = src[p];
            int digit = c switch
            {
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                >= (byte)'0' and <= (byte)'9' => c - '0',
                _ => -1,
            };
            if (digit < 0)
            {
                break;
            }
            value = (value << 4) + (uint)digit;
        }
        return p == end ? (value, p) : throw Error($"expecting {size} hex chars", pos);
    }

    // llama.cpp's one-code-point decoder: trusts the lead byte, stops early at the terminating 0.
    (uint Value, int End) DecodeUtf8(int pos)
    {
        ReadOnlySpan<int> lookup = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
        var first = src[pos];
        var length = lookup[first >> 4];
        var mask = (1 << (8 - length)) - 1;
        var value = (uint)(first & mask);
        var end = pos + length;
        var p = pos + 1;
        for (; p < end && src[p] != 0; p++)
        {
            value = (value << 6) + (uint)(src[p] & 0x3F);
        }
        return (value, p);
    }

    (uint Value, int End) ParseChar(int pos)
    {
        if (src[pos] == '\\')
        {
            return src[pos + 1] switch
            {
                (byte)'x' => ParseHex(pos + 2, 2),
                (byte)'u' => ParseHex(pos + 2, 4),
                (byte)'U' => ParseHex(pos + 2, 8),
                (byte)'t' => ('\t', pos + 2),
                (byte)'r' => ('\r', pos + 2),
                (byte)'n' => ('\n', pos + 2),
                (byte)'\\' or (byte)'"' or (byte)'[' or (byte)']' => (src[pos + 1], pos + 2),
                _ => throw Error("unknown escape", pos),
            };
        }
        return src[pos] != 0 ? DecodeUtf8(pos) : throw Error("unexpected end of input", pos);
    }

    int ParseAlternates(int pos, string ruleName, int ruleId, bool isNested)
    {
        var rule = new List<GrammarElement>();
        pos = ParseSequence(pos, ruleName, rule, isNested);
        while (src[pos] == '|')
        {
            rule.Add(new(GrammarElementType.Alternative, 0));
            pos = ParseSpace(pos + 1, newlineOk: true);
            pos = ParseSequence(pos, ruleName, rule, isNested);
        }
        rule.Add(new(GrammarElementType.End, 0));
        AddRule(ruleId, rule);
        return pos;
    }

    int ParseSequence(int pos, string ruleName, List<GrammarElement> rule, bool isNested)
    {
        var lastSymbolStart = rule.Count;
        while (src[pos] != 0)
        {
            var c = src[pos];
            if (c == '"')
            {
                pos++;
                lastSymbolStart = rule.Count;
                while (src[pos] != '"')
                {
                    if (src[pos] == 0)
                    {
                        throw Error("unexpected end of input", pos);
                    }
                    (var ch, pos) = ParseChar(pos);
                    rule.Add(new(GrammarElementType.Char, ch));
                }
                pos = ParseSpace(pos + 1, isNested);
            }
            else if (c == '[')
            {
                pos++;
                var startType = GrammarElementType.Char;
                if (src[pos] == '^')
                {
                    pos++;
                    startType = GrammarElementType.CharNot;
                }
                lastSymbolStart = rule.Count;
                while (src[pos] != ']')
                {
                    if (src[pos] == 0)
                    {
                        throw Error("unexpected end of input", pos);
                    }
                    (var ch, pos) = ParseChar(pos);
                    rule.Add(new(lastSymbolStart < rule.Count ? GrammarElementType.CharAlternative : startType, ch));
                    if (src[pos] == '-' && src[pos + 1] != ']')
                    {
                        if (src[pos + 1] == 0)
                        {
                            throw Error("unexpected end of input", pos + 1);
                        }
                        (var upper, pos) = ParseChar(pos + 1);
                        rule.Add(new(GrammarElementType.CharRangeUpper, upper));
                    }
                }
                pos = ParseSpace(pos + 1, isNested);
            }
            else if (IsWordChar(c))
            {
                var nameEnd = ParseName(pos);
                var referenced = GetSymbolId(pos, nameEnd - pos);
                firstReference.TryAdd(referenced, pos);
                pos = ParseSpace(nameEnd, isNested);
                lastSymbolStart = rule.Count;
                rule.Add(new(GrammarElementType.RuleReference, (uint)referenced));
            }
            else if (c == '(')
            {
                pos = ParseSpace(pos + 1, newlineOk: true);
                var subRuleId = GenerateSymbolId(ruleName);
                pos = ParseAlternates(pos, ruleName, subRuleId, isNested: true);
                lastSymbolStart = rule.Count;
                rule.Add(new(GrammarElementType.RuleReference, (uint)subRuleId));
                if (src[pos] != ')')
                {
                    throw Error("expecting ')'", pos);
                }
                pos = ParseSpace(pos + 1, isNested);
            }
            else if (c == '.')
            {
                lastSymbolStart = rule.Count;
                rule.Add(new(GrammarElementType.CharAny, 0));
                pos = ParseSpace(pos + 1, isNested);
            }
            else if (c is (byte)'*' or (byte)'+' or (byte)'?')
            {
                var at = pos;
                pos = ParseSpace(pos + 1, isNested);
                var (min, max) = c switch { (byte)'*' => (0, -1), (byte)'+' => (1, -1), _ => (0, 1) };
                Repeat(rule, lastSymbolStart, ruleName, min, max, at);
            }
            else if (c == '{')
            {
                var at = pos;
                pos = ParseSpace(pos + 1, isNested);
                if (!IsDigit(src[pos]))
                {
                    throw Error("expecting an int", pos);
                }
                var intEnd = ParseInt(pos);
                var min = ParseCount(pos, intEnd);
                pos = ParseSpace(intEnd, isNested);
                int max;
                if (src[pos] == '}')
                {
                    max = min;
                    pos = ParseSpace(pos + 1, isNested);
                }
                else if (src[pos] == ',')
                {
                    pos = ParseSpace(pos + 1, isNested);
                    max = -1;
                    if (IsDigit(src[pos]))
                    {
                        intEnd = ParseInt(pos);
                        max = ParseCount(pos, intEnd);
                        pos = ParseSpace(intEnd, isNested);
                    }
                    if (src[pos] != '}')
                    {
                        throw Error("expecting '}'", pos);
                    }
                    pos = ParseSpace(pos + 1, isNested);
                }
                else
                {
                    throw Error("expecting ','", pos);
                }
                Repeat(rule, lastSymbolStart, ruleName, min, max, at);
            }
            else
            {
                break;
            }
        }
        return pos;
    }

    int ParseCount(int start, int end) =>
        int.TryParse(Encoding.ASCII.GetString(src, start, end - start), out var n) ? n : throw Error("repetition count too large", start);

    // llama.cpp's rewrite of the preceding item S (rule[lastSymbolStart..]):
    // S{m,n} -> S repeated m times, then S'(n-m) with S'(x) ::= S S'(x-1) | , ..., S'(1) ::= S |
    // S{m,}  -> S repeated m times, then S' ::= S S' |
    void Repeat(List<GrammarElement> rule, int lastSymbolStart, string ruleName, int min, int max, int at)
    {
        if (lastSymbolStart == rule.Count)
        {
            throw Error("expecting preceding item to */+/?/{", at);
        }
        var previous = rule.GetRange(lastSymbolStart, rule.Count - lastSymbolStart);
        if (min == 0)
        {
            rule.RemoveRange(lastSymbolStart, rule.Count - lastSymbolStart);
        }
        else
        {
            for (var i = 1; i < min; i++)
            {
                rule.AddRange(previous);
            }
        }
        var lastRecursiveRuleId = 0;
        var optional = max < 0 ? 1 : max - min;
        for (var i = 0; i < optional; i++)
        {
            var recursive = new List<GrammarElement>(previous);
            var recursiveRuleId = GenerateSymbolId(ruleName);
            if (i > 0 || max < 0)
            {
                recursive.Add(new(GrammarElementType.RuleReference, (uint)(max < 0 ? recursiveRuleId : lastRecursiveRuleId)));
            }
            recursive.Add(new(GrammarElementType.Alternative, 0));
            recursive.Add(new(GrammarElementType.End, 0));
            AddRule(recursiveRuleId, recursive);
            lastRecursiveRuleId = recursiveRuleId;
        }
        if (optional > 0)
        {
            rule.Add(new(GrammarElementType.RuleReference, (uint)lastRecursiveRuleId));
        }
    }

    int ParseRule(int pos)
    {
        var nameEnd = ParseName(pos);
        var after = ParseSpace(nameEnd, newlineOk: false);
        var ruleId = GetSymbolId(pos, nameEnd - pos);
        var name = Encoding.UTF8.GetString(src, pos, nameEnd - pos);
        if (!(src[after] == ':' && src[after + 1] == ':' && src[after + 2] == '='))
        {
            throw Error("expecting ::=", after);
        }
        pos = ParseSpace(after + 3, newlineOk: true);
        pos = ParseAlternates(pos, name, ruleId, isNested: false);
        if (src[pos] == '\r')
        {
            pos += src[pos + 1] == '\n' ? 2 : 1;
        }
        else if (src[pos] == '\n')
        {
            pos++;
        }
        else if (src[pos] != 0)
        {
            throw Error("expecting newline or end", pos);
        }
        return ParseSpace(pos, newlineOk: true);
    }
}
