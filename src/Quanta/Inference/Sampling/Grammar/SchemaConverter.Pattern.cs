using System.Globalization;
using System.Text;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The <c>pattern</c> part of llama.cpp's JSON-schema converter (<c>_visit_pattern</c>): a regular expression
/// anchored with ^ and $ becomes GBNF — literals merged, <c>.</c>, groups, alternation, character classes
/// copied as they are, and the quantifiers <c>* + ? {m,n}</c>. Lookarounds and other <c>(?</c> groups are
/// not supported (a warning, as llama.cpp).
/// </summary>
sealed partial class SchemaConverter
{
    static readonly HashSet<char> NonLiteral = ['|', '.', '(', ')', '[', ']', '{', '}', '*', '+', '?'];
    static readonly HashSet<char> EscapedInRegexpsButNotInLiterals = ['^', '$', '.', '[', ']', '(', ')', '|', '{', '}', '*', '+', '?'];

    string VisitPattern(string pattern, string name)
    {
        if (!(pattern.StartsWith('^') && pattern.EndsWith('$')))
        {
            errors.Add("Pattern must start with '^' and end with '$'");
            return "";
        }
        var sub = pattern[1..^1];
        var subRuleIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        var length = sub.Length;

        static string ToRule((string Text, bool IsLiteral) item) => item.IsLiteral ? "\"" + item.Text + "\"" : item.Text;

        (string Text, bool IsLiteral) Transform()
        {
            var start = i;
            var seq = new List<(string Text, bool IsLiteral)>();

            string GetDot() => AddRule("dot", dotAll ? "[\\U00000000-\\U0010FFFF]" : "[^\\x0A\\x0D]");

            // joins the sequence, merging consecutive literals
            (string, bool) JoinSeq()
            {
                var joined = new List<(string Text, bool IsLiteral)>();
                var literal = new StringBuilder();
                void FlushLiteral()
                {
                    if (literal.Length > 0)
                    {
                        joined.Add((literal.ToString(), true));
                        literal.Clear();
                    }
                }
                foreach (var item in seq)
                {
                    if (item.IsLiteral)
                    {
                        literal.Append(item.Text);
                    }
                    else
                    {
                        FlushLiteral();
                        joined.Add(item);
                    }
                }
                FlushLiteral();
                return (string.Join(" ", joined.Select(ToRule)), false);
            }

            while (i < length)
            {
                var c = sub[i];
                if (c == '.')
                {
                    seq.Add((GetDot(), false));
                    i++;
                }
                else if (c == '(')
                {
                    i++;
                    if (i < length && sub[i] == '?')
                    {
                        Warnings.Add("Unsupported pattern syntax");
                    }
                    seq.Add(("(" + ToRule(Transform()) + ")", false));
                }
                else if (c == ')')
                {
                    i++;
                    if (start > 0 && sub[start - 1] != '(')
                    {
                        errors.Add("Unbalanced parentheses");
                    }
                    return JoinSeq();
                }
                else if (c == '[')
                {
                    var squareBrackets = new StringBuilder().Append(c);
                    i++;
                    while (i < length && sub[i] != ']')
                    {
                        if (sub[i] == '\\')
                        {
                            squareBrackets.Append(sub.AsSpan(i, Math.Min(2, length - i)));
                            i += 2;
                        }
                        else
                        {
                            squareBrackets.Append(sub[i]);
                            i++;
                        }
                    }
                    if (i >= length)
                    {
                        errors.Add("Unbalanced square brackets");
                    }
                    squareBrackets.Append(']');
                    i++;
                    seq.Add((squareBrackets.ToString(), false));
                }
                else if (c == '|')
                {
                    seq.Add(("|", false));
                    i++;
                }
                else if (c is '*' or '+' or '?')
                {
                    if (seq.Count == 0)
                    {
                        errors.Add($"Nothing to repeat before '{c}'");
                        i++;
                        continue;
                    }
                    seq[^1] = (ToRule(seq[^1]) + c, false);
                    i++;
                }
                else if (c == '{')
                {
                    var curly = new StringBuilder().Append(c);
                    i++;
                    while (i < length && sub[i] != '}')
                    {
                        curly.Append(sub[i]);
                        i++;
                    }
                    if (i >= length)
                    {
                        errors.Add("Unbalanced curly brackets");
                    }
                    curly.Append('}');
                    i++;
                    var inner = curly.ToString()[1..^1];
                    var numbers = inner.Split(',');
                    var minTimes = 0;
                    var maxTimes = int.MaxValue;
                    try
                    {
                        if (numbers.Length == 1)
                        {
                            minTimes = maxTimes = LeadingInt(numbers[0]);
                        }
                        else if (numbers.Length != 2)
                        {
                            errors.Add("Wrong number of values in curly brackets");
                        }
                        else
                        {
                            if (numbers[0].Length > 0)
                            {
                                minTimes = LeadingInt(numbers[0]);
                            }
                            if (numbers[1].Length > 0)
                            {
                                maxTimes = LeadingInt(numbers[1]);
                            }
                        }
                    }
                    catch (Exception e) when (e is FormatException or OverflowException)
                    {
                        errors.Add("Invalid number in curly brackets");
                        return ("", false);
                    }
                    if (seq.Count == 0)
                    {
                        errors.Add("Nothing to repeat before '{'");
                        continue;
                    }
                    var (text, isLiteral) = seq[^1];
                    if (!isLiteral)
                    {
                        if (!subRuleIds.TryGetValue(text, out var id))
                        {
                            // llama.cpp names the rule after the map's size once the entry exists
                            id = AddRule(name + "-" + Number(subRuleIds.Count + 1), text);
                            subRuleIds[text] = id;
                        }
                        text = id;
                    }
                    seq[^1] = (Repetition(isLiteral ? "\"" + text + "\"" : text, minTimes, maxTimes), false);
                }
                else
                {
                    var literal = new StringBuilder();
                    while (i < length)
                    {
                        if (sub[i] == '\\' && i < length - 1)
                        {
                            var next = sub[i + 1];
                            if (EscapedInRegexpsButNotInLiterals.Contains(next))
                            {
                                i++;
                                literal.Append(sub[i]);
                                i++;
                            }
                            else
                            {
                                literal.Append(sub, i, 2);
                                i += 2;
                            }
                        }
                        else if (sub[i] == '"')
                        {
                            literal.Append("\\\"");
                            i++;
                        }
                        else if (!NonLiteral.Contains(sub[i])
                            && (i == length - 1 || literal.Length == 0 || sub[i + 1] == '.' || !NonLiteral.Contains(sub[i + 1])))
                        {
                            literal.Append(sub[i]);
                            i++;
                        }
                        else
                        {
                            break;
                        }
                    }
                    if (literal.Length > 0)
                    {
                        seq.Add((literal.ToString(), true));
                    }
                    else if (i < length && sub[i] == '\\')
                    {
                        // a trailing lone backslash: llama.cpp would loop forever here
                        errors.Add("Pattern ends with a lone backslash");
                        i++;
                    }
                }
            }
            return JoinSeq();
        }

        return AddRule(name, "\"\\\"\" (" + ToRule(Transform()) + ") \"\\\"\" space");
    }

    // std::stoi: optional leading whitespace and sign, then digits; anything after them is ignored
    static int LeadingInt(string text)
    {
        var trimmed = text.TrimStart();
        var end = 0;
        if (end < trimmed.Length && trimmed[end] is '+' or '-')
        {
            end++;
        }
        while (end < trimmed.Length && char.IsAsciiDigit(trimmed[end]))
        {
            end++;
        }
        return int.Parse(trimmed[..end], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }
}
