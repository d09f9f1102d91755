namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The pushdown matcher of llama.cpp's grammar (<c>llama_grammar</c>, src/llama-grammar.cpp, February 2025):
/// a set of stacks of positions in the rules, each stack's top at a character element; a code point keeps
/// the stacks whose top matches it and advances them. An empty stack means the root rule can end there.
/// Positions index one flat array of every rule's elements, as llama.cpp's stacks hold pointers into its
/// rules. Also tracks the incomplete UTF-8 sequence a token left, and can reject, for every stack at once,
/// candidate texts that no continuation of the grammar allows.
/// </summary>
public sealed class GrammarMatcher
{
    readonly GrammarElement[] elements;
    readonly int[] ruleStarts;
    List<int[]> stacks;

    GrammarMatcher(GrammarElement[] elements, int[] ruleStarts, List<int[]> stacks, PartialUtf8 partial)
    {
        this.elements = elements;
        this.ruleStarts = ruleStarts;
        this.stacks = stacks;
        Partial = partial;
    }

    /// <summary>
    /// The matcher at the start of <paramref name="rootRule"/> (<c>llama_grammar_init_impl</c>): refuses a
    /// grammar without that rule or with left recursion, which the stack machine cannot run.
    /// </summary>
    public static GrammarMatcher Create(GbnfGrammar grammar, string rootRule = "root")
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(rootRule);
        if (!grammar.Symbols.TryGetValue(rootRule, out var root))
        {
            throw new GbnfFormatException($"the grammar does not define the root rule '{rootRule}'");
        }
        CheckLeftRecursion(grammar);
        var ruleStarts = new int[grammar.Rules.Count];
        var flat = new List<GrammarElement>();
        for (var i = 0; i < grammar.Rules.Count; i++)
        {
            ruleStarts[i] = flat.Count;
            flat.AddRange(grammar.Rules[i]);
        }
        var matcher = new GrammarMatcher([.. flat], ruleStarts, [], PartialUtf8.None);
        // one stack per alternative of the root rule
        var pos = ruleStarts[root];
        while (true)
        {
            matcher.AdvanceStack(matcher.elements[pos].IsEndOfSequence ? [] : [pos], matcher.stacks);
            while (!matcher.elements[pos].IsEndOfSequence)
            {
                pos++;
            }
            if (matcher.elements[pos].Type != GrammarElementType.Alternative)
            {
                break;
            }
            pos++;
        }
        return matcher;
    }

    /// <summary>The incomplete UTF-8 sequence the accepted text ended in.</summary>
    public PartialUtf8 Partial { get; private set; }

    /// <summary>The number of live stacks; 0 means the text accepted so far cannot be continued.</summary>
    public int StackCount => stacks.Count;

    /// <summary>Whether the text accepted so far is a complete sentence of the grammar (some stack is empty).</summary>
    public bool CanEnd => stacks.Exists(s => s.Length == 0);

    /// <summary>A copy with the same state, which advances independently.</summary>
    public GrammarMatcher Clone() => new(elements, ruleStarts, [.. stacks], Partial);

    /// <summary>
    /// Advances over one code point (<c>llama_grammar_accept</c>); stacks that cannot take it are dropped, so
    /// a code point the grammar refuses leaves no stack.
    /// </summary>
    public void Accept(uint codePoint)
    {
        var next = new List<int[]>(stacks.Count);
        foreach (var stack in stacks)
        {
            if (stack.Length == 0)
            {
                continue;
            }
            var (matched, after) = MatchChar(stack[^1], codePoint);
            if (matched)
            {
                AdvanceStack(Replace(stack, after), next);
            }
        }
        stacks = next;
    }

    /// <summary>
    /// Advances over a piece of UTF-8 text, continuing and leaving incomplete sequences as llama.cpp's
    /// <c>llama_grammar_accept_str</c> does. Returns false, leaving no stack, when the grammar refuses it.
    /// </summary>
    public bool AcceptText(ReadOnlySpan<byte> utf8)
    {
        var (codePoints, partial) = PartialUtf8.Decode(utf8, Partial);
        for (var i = 0; i < codePoints.Length - 1; i++)
        {
            Accept(codePoints[i]);
        }
        Partial = partial;
        return stacks.Count > 0;
    }

    /// <summary>
    /// Whether the whole <paramref name="text"/> is a sentence of the grammar from the current state (the
    /// test of llama.cpp's test-grammar-integration: accept code point by code point, then look for an empty
    /// stack). The state is left unchanged.
    /// </summary>
    public bool Matches(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var copy = Clone();
        foreach (var rune in text.EnumerateRunes())
        {
            copy.Accept((uint)rune.Value);
            if (copy.stacks.Count == 0)
            {
                return false;
            }
        }
        return copy.CanEnd;
    }

    /// <summary>
    /// The candidates no stack accepts (<c>llama_grammar_reject_candidates</c>): each candidate is the code
    /// points of a token's text (ending with 0) and the incomplete sequence it ends in.
    /// </summary>
    internal List<GrammarCandidate> RejectCandidates(List<GrammarCandidate> candidates)
    {
        if (stacks.Count == 0)
        {
            throw new InvalidOperationException("the grammar has no stack left; it cannot constrain further tokens");
        }
        return RejectCandidates(stacks, candidates);
    }

    List<GrammarCandidate> RejectCandidates(List<int[]> stackSet, List<GrammarCandidate> candidates)
    {
        if (candidates.Count == 0)
        {
            return [];
        }
        var rejects = RejectCandidatesForStack(stackSet[0], candidates);
        for (var i = 1; i < stackSet.Count; i++)
        {
            rejects = RejectCandidatesForStack(stackSet[i], rejects);
        }
        return rejects;
    }

    List<GrammarCandidate> RejectCandidatesForStack(int[] stack, List<GrammarCandidate> candidates)
    {
        var rejects = new List<GrammarCandidate>(candidates.Count);
        if (stack.Length == 0)
        {
            // the grammar is complete on this stack: only an empty remainder fits
            foreach (var candidate in candidates)
            {
                if (candidate.Current != 0 || candidate.Partial.Remaining != 0)
                {
                    rejects.Add(candidate);
                }
            }
            return rejects;
        }

        var top = stack[^1];
        var next = new List<GrammarCandidate>(candidates.Count);
        foreach (var candidate in candidates)
        {
            if (candidate.Current == 0)
            {
                // the token's whole code points matched; an incomplete tail must still be able to match here
                if (candidate.Partial.Remaining != 0 && !MatchPartialChar(top, candidate.Partial))
                {
                    rejects.Add(candidate);
                }
            }
            else if (MatchChar(top, candidate.Current).Matched)
            {
                next.Add(candidate.Advance(1));
            }
            else
            {
                rejects.Add(candidate);
            }
        }

        var after = MatchChar(top, 0).After;
        var nextStacks = new List<int[]>();
        AdvanceStack(Replace(stack, after), nextStacks);
        foreach (var reject in RejectCandidates(nextStacks, next))
        {
            rejects.Add(reject.Advance(-1));
        }
        return rejects;
    }

    // The stack without its top, plus the element after the matched character unless the alternative ends.
    int[] Replace(int[] stack, int after)
    {
        if (elements[after].IsEndOfSequence)
        {
            return stack[..^1];
        }
        var replaced = (int[])stack.Clone();
        replaced[^1] = after;
        return replaced;
    }

    static bool Contains(List<int[]> stackSet, int[] stack) =>
        stackSet.Exists(s => s.AsSpan().SequenceEqual(stack));

    // llama_grammar_advance_stack: expands rule references at the top until every stack's top is a
    // character element (or the stack is empty), adding each distinct stack once.
    void AdvanceStack(int[] stack, List<int[]> into)
    {
        if (stack.Length == 0)
        {
            if (!Contains(into, stack))
            {
                into.Add(stack);
            }
            return;
        }
        var pos = stack[^1];
        var element = elements[pos];
        switch (element.Type)
        {
            case GrammarElementType.RuleReference:
                var sub = ruleStarts[(int)element.Value];
                while (true)
                {
                    var continues = !elements[pos + 1].IsEndOfSequence;
                    var nonEmpty = !elements[sub].IsEndOfSequence;
                    var expanded = new int[stack.Length - 1 + (continues ? 1 : 0) + (nonEmpty ? 1 : 0)];
                    stack.AsSpan(0, stack.Length - 1).CopyTo(expanded);
                    var at = stack.Length - 1;
                    if (continues)
                    {
                        expanded[at++] = pos + 1;
                    }
                    if (nonEmpty)
                    {
                        expanded[at] = sub;
                    }
                    AdvanceStack(expanded, into);
                    while (!elements[sub].IsEndOfSequence)
                    {
                        sub++;
                    }
                    if (elements[sub].Type != GrammarElementType.Alternative)
                    {
                        break;
                    }
                    sub++;
                }
                break;
            case GrammarElementType.Char or GrammarElementType.CharNot or GrammarElementType.CharAny:
                if (!Contains(into, stack))
                {
                    into.Add(stack);
                }
                break;
            default:
                throw new InvalidOperationException($"grammar stack left on a {element.Type} element");
        }
    }

    // llama_grammar_match_char: whether the character class at pos takes the code point, and the position
    // after the class.
    (bool Matched, int After) MatchChar(int pos, uint codePoint)
    {
        var type = elements[pos].Type;
        var positive = type is GrammarElementType.Char or GrammarElementType.CharAny;
        var found = false;
        do
        {
            if (elements[pos + 1].Type == GrammarElementType.CharRangeUpper)
            {
                found = found || (elements[pos].Value <= codePoint && codePoint <= elements[pos + 1].Value);
                pos += 2;
            }
            else if (elements[pos].Type == GrammarElementType.CharAny)
            {
                found = true;
                pos += 1;
            }
            else
            {
                found = found || elements[pos].Value == codePoint;
                pos += 1;
            }
        }
        while (elements[pos].Type == GrammarElementType.CharAlternative);
        return (found == positive, pos);
    }

    // llama_grammar_match_partial_char: whether some completion of the incomplete sequence could match.
    bool MatchPartialChar(int pos, PartialUtf8 partial)
    {
        var positive = elements[pos].Type is GrammarElementType.Char or GrammarElementType.CharAny;
        var value = partial.Value;
        var remaining = partial.Remaining;
        // an invalid sequence, or a 7-bit character split over two bytes (overlong)
        if (remaining < 0 || (remaining == 1 && value < 2))
        {
            return false;
        }
        var low = value << (remaining * 6);
        var high = low | ((1u << (remaining * 6)) - 1);
        if (low == 0)
        {
            if (remaining == 2)
            {
                low = 1u << 11;
            }
            else if (remaining == 3)
            {
                low = 1u << 16;
            }
        }
        do
        {
            if (elements[pos + 1].Type == GrammarElementType.CharRangeUpper)
            {
                if (elements[pos].Value <= high && low <= elements[pos + 1].Value)
                {
                    return positive;
                }
                pos += 2;
            }
            else if (elements[pos].Type == GrammarElementType.CharAny)
            {
                return true;
            }
            else
            {
                if (low <= elements[pos].Value && elements[pos].Value <= high)
                {
                    return positive;
                }
                pos += 1;
            }
        }
        while (elements[pos].Type == GrammarElementType.CharAlternative);
        return !positive;
    }

    // llama_grammar_detect_left_recursion over every rule.
    static void CheckLeftRecursion(GbnfGrammar grammar)
    {
        var count = grammar.Rules.Count;
        var visited = new bool[count];
        var inProgress = new bool[count];
        var mayBeEmpty = new bool[count];
        for (var i = 0; i < count; i++)
        {
            if (!visited[i] && DetectLeftRecursion(grammar.Rules, i, visited, inProgress, mayBeEmpty))
            {
                var name = grammar.Symbols.First(kv => kv.Value == i).Key;
                throw new GbnfFormatException($"unsupported grammar: left recursion in rule '{name}'");
            }
        }
    }

    static bool DetectLeftRecursion(IReadOnlyList<GrammarElement[]> rules, int index, bool[] visited, bool[] inProgress, bool[] mayBeEmpty)
    {
        if (inProgress[index])
        {
            return true;
        }
        inProgress[index] = true;
        var rule = rules[index];

        var atRuleStart = true;
        foreach (var element in rule)
        {
            if (element.IsEndOfSequence)
            {
                if (atRuleStart)
                {
                    mayBeEmpty[index] = true;
                    break;
                }
                atRuleStart = true;
            }
            else
            {
                atRuleStart = false;
            }
        }

        var recurse = true;
        foreach (var element in rule)
        {
            if (element.Type == GrammarElementType.RuleReference && recurse)
            {
                if (DetectLeftRecursion(rules, (int)element.Value, visited, inProgress, mayBeEmpty))
                {
                    return true;
                }
                if (!mayBeEmpty[(int)element.Value])
                {
                    recurse = false;
                }
            }
            else if (element.IsEndOfSequence)
            {
                recurse = true;
            }
            else
            {
                recurse = false;
            }
        }

        inProgress[index] = false;
        visited[index] = true;
        return false;
    }
}
