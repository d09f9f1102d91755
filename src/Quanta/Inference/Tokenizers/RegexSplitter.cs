using System.Text;
using System.Text.RegularExpressions;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Splits text into words before BPE, as unicode.cpp's <c>unicode_regex_split</c> does: each regex of the
/// pre-tokenizer in turn splits every piece the previous one left (the text between matches is a piece too).
/// </summary>
/// <remarks>
/// llama.cpp runs the regexes with C++ <c>std::regex</c>, which knows no Unicode categories. Where a regex uses
/// <c>\p{L}</c>, <c>\p{N}</c>, <c>\p{P}</c>, <c>\p{M}</c> or <c>\p{S}</c>, it matches against a "collapsed" text
/// in which every non-ASCII code point is replaced by one stand-in byte for its category (0xD1 number, 0xD2
/// letter, ..., 0x0B for whitespace), with the category in the regex rewritten to that byte plus its ASCII
/// members. Other regexes run on the code points with non-ASCII whitespace replaced by 0x0B, because std::regex
/// <c>\s</c> is ASCII-only. The same is done here, with .NET's ECMAScript mode (ASCII <c>\s</c>, as std::regex),
/// so that the splits are llama.cpp's even where a real Unicode regex would differ. GPT-2's and Llama 3's
/// regexes take llama.cpp's hand-written splitters instead (<see cref="HandWrittenSplitters"/>).
/// </remarks>
internal sealed class RegexSplitter
{
    // llama.cpp's spellings of the two regexes it has hand-written splitters for.
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Llama3AdaptedPattern = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly string[] CategoryNames = [@"\p{N}", @"\p{L}", @"\p{P}", @"\p{M}", @"\p{S}", @"\p{Lu}", @"\p{Ll}", @"\p{Lt}", @"\p{Lm}", @"\p{Lo}"];

    // Placeholders for code points above the BMP in the non-collapsed path, where one char must stand for one
    // code point: a lone surrogate never occurs otherwise in that text.
    const char OutsideBmp = '\uD800';
    const char OutsideBmpInClass = '\uDB80';

    readonly Rule[] _rules;

    public RegexSplitter(IReadOnlyList<string> patterns)
    {
        _rules = [.. patterns.Select(Compile)];
        NeedsCollapsed = _rules.Any(r => r.Kind == RuleKind.Collapsed);
    }

    bool NeedsCollapsed { get; }

    /// <summary>Splits a byte string; returns the pieces as lengths in code points of <paramref name="cpts"/>.</summary>
    public List<int> Split(int[] cpts)
    {
        var offsets = new List<int> { cpts.Length };
        string? collapsed = NeedsCollapsed ? Collapse(cpts) : null;
        foreach (var rule in _rules)
        {
            switch (rule.Kind)
            {
                case RuleKind.Gpt2:
                    offsets = HandWrittenSplitters.Gpt2(cpts, offsets);
                    break;
                case RuleKind.Llama3:
                    offsets = HandWrittenSplitters.Llama3(cpts, offsets);
                    break;
                case RuleKind.Collapsed:
                    offsets = SplitWithRegex(collapsed!, rule.Regex!, offsets);
                    break;
                default:
                    offsets = SplitWithRegex(Widen(cpts, rule), rule.Regex!, offsets);
                    break;
            }
        }
        return offsets;
    }

    static List<int> SplitWithRegex(string text, Regex regex, List<int> offsets)
    {
        var result = new List<int>(offsets.Count);
        var start = 0;
        foreach (var offset in offsets)
        {
            // Each piece is matched as a text of its own (lookaheads and $ stop at its end), as llama.cpp's
            // regex_iterator over [start, start + offset) does.
            var piece = text.Substring(start, offset);
            var previous = 0;
            for (var match = regex.Match(piece); match.Success; match = match.NextMatch())
            {
                if (match.Length == 0)
                {
                    continue;
                }
                if (match.Index > previous)
                {
                    result.Add(match.Index - previous);
                }
                result.Add(match.Length);
                previous = match.Index + match.Length;
            }
            if (previous < offset)
            {
                result.Add(offset - previous);
            }
            start += offset;
        }
        return result;
    }

    static string Collapse(int[] cpts)
    {
        var chars = new char[cpts.Length];
        for (var i = 0; i < cpts.Length; i++)
        {
            var cpt = cpts[i];
            if (cpt < 128)
            {
                chars[i] = (char)cpt;
                continue;
            }
            var flags = Codepoints.Flags(cpt);
            chars[i] = (flags & CodepointFlags.Whitespace) != 0
                ? '\u000B'
                : (flags & CodepointFlags.Categories) switch
                {
                    CodepointFlags.Number => '\u00D1',
                    CodepointFlags.Letter => '\u00D2',
                    CodepointFlags.Punctuation => '\u00D3',
                    CodepointFlags.AccentMark => '\u00D4',
                    CodepointFlags.Symbol => '\u00D5',
                    _ => '\u00D0',
                };
        }
        return new string(chars);
    }

    static string Widen(int[] cpts, Rule rule)
    {
        var chars = new char[cpts.Length];
        for (var i = 0; i < cpts.Length; i++)
        {
            var cpt = cpts[i];
            if (cpt > 0xFFFF)
            {
                chars[i] = rule.NonBmpRanges.Any(r => cpt >= r.First && cpt <= r.Last) ? OutsideBmpInClass : OutsideBmp;
            }
            else
            {
                chars[i] = cpt > 0x7F && Codepoints.IsWhitespace(cpt) ? '\u000B' : (char)cpt;
            }
        }
        return new string(chars);
    }

    static Rule Compile(string pattern)
    {
        if (pattern == Gpt2Pattern)
        {
            return new Rule(RuleKind.Gpt2, null, []);
        }
        if (pattern is Llama3Pattern or Llama3AdaptedPattern)
        {
            return new Rule(RuleKind.Llama3, null, []);
        }
        if (CategoryNames.Any(c => pattern.Contains(c, StringComparison.Ordinal)))
        {
            return new Rule(RuleKind.Collapsed, NewRegex(CollapsePattern(pattern)), []);
        }
        var ranges = new List<(int First, int Last)>();
        return new Rule(RuleKind.Wide, NewRegex(ReplaceNonBmp(pattern, ranges)), ranges);
    }

    static Regex NewRegex(string pattern) => new(EndAnchorsOnly(pattern), RegexOptions.ECMAScript);

    /// <summary>std::regex's <c>$</c> matches only at the very end; .NET's also before a final newline.</summary>
    static string EndAnchorsOnly(string pattern)
    {
        var builder = new StringBuilder(pattern.Length);
        var inside = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                builder.Append(c).Append(pattern[++i]);
                continue;
            }
            if (c == '[')
            {
                inside = true;
            }
            else if (c == ']')
            {
                inside = false;
            }
            builder.Append(c == '$' && !inside ? @"\z" : c.ToString());
        }
        return builder.ToString();
    }

    /// <summary>unicode.cpp's rewriting of <c>\p{..}</c> into the collapsed stand-in byte plus its ASCII members.</summary>
    static string CollapsePattern(string pattern)
    {
        var builder = new StringBuilder(pattern.Length * 2);
        var inside = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '[' && (i == 0 || pattern[i - 1] != '\\'))
            {
                builder.Append('[');
                inside = true;
                continue;
            }
            if (inside && pattern[i] == ']' && pattern[i - 1] != '\\')
            {
                builder.Append(']');
                inside = false;
                continue;
            }
            if (pattern[i] == '\\' && i + 3 < pattern.Length && pattern[i + 1] == 'p' && pattern[i + 2] == '{')
            {
                var closing = pattern.IndexOf('}', i + 3);
                if (closing >= 0 && closing <= i + 10 && CategoryClass(pattern[i..(closing + 1)]) is { } members)
                {
                    builder.Append(inside ? members : "[" + members + "]");
                    i = closing;
                    continue;
                }
            }
            builder.Append(pattern[i]);
        }
        return builder.ToString();
    }

    static string? CategoryClass(string name) => name switch
    {
        @"\p{N}" => "\u00D10-9",
        @"\p{L}" or @"\p{Lu}" or @"\p{Ll}" or @"\p{Lt}" or @"\p{Lm}" or @"\p{Lo}" => "\u00D2A-Za-z",
        @"\p{P}" => "\u00D3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
        @"\p{M}" => "\u00D4",
        @"\p{S}" => "\u00D5\\$\\+<->^`\\|",
        _ => null,
    };

    /// <summary>
    /// Replaces code points above the BMP (a character or a range in a class) by one placeholder char that the
    /// text uses for every such code point inside one of those ranges.
    /// </summary>
    static string ReplaceNonBmp(string pattern, List<(int First, int Last)> ranges)
    {
        var builder = new StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (!char.IsHighSurrogate(pattern[i]) || i + 1 >= pattern.Length)
            {
                builder.Append(pattern[i]);
                continue;
            }
            var first = char.ConvertToUtf32(pattern[i], pattern[i + 1]);
            i++;
            var last = first;
            if (i + 3 < pattern.Length && pattern[i + 1] == '-' && char.IsHighSurrogate(pattern[i + 2]))
            {
                last = char.ConvertToUtf32(pattern[i + 2], pattern[i + 3]);
                i += 3;
            }
            ranges.Add((first, last));
            builder.Append(OutsideBmpInClass);
        }
        return builder.ToString();
    }

    enum RuleKind
    {
        Gpt2,
        Llama3,
        Collapsed,
        Wide,
    }

    sealed record Rule(RuleKind Kind, Regex? Regex, IReadOnlyList<(int First, int Last)> NonBmpRanges);
}
