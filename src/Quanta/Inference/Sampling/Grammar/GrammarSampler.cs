namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// Constrains sampling to a GBNF grammar — llama.cpp's grammar sampler (<c>llama_sampler_init_grammar</c>,
/// <c>llama_grammar_apply_impl</c> / <c>llama_grammar_accept_impl</c>): <see cref="Apply"/> sets to −∞ the
/// logit of every candidate whose text no continuation of the grammar allows (and of tokens with an empty
/// text), and of end-of-generation tokens unless the grammar can end here; <see cref="Accept"/> advances the
/// grammar over a chosen token's text. <see cref="SamplerChain"/> runs it as llama.cpp's
/// <c>common_sampler_sample</c> does: the chain first, then the grammar only when the chosen token breaks it.
/// </summary>
public sealed class GrammarSampler : ISampler
{
    readonly ISamplingVocabulary vocabulary;
    readonly GrammarMatcher initial;
    // each token's text decoded with no pending UTF-8 sequence, the usual case, computed once
    readonly (uint[] CodePoints, PartialUtf8 Partial)?[] decoded;

    /// <summary>A sampler for <paramref name="grammar"/> from <paramref name="rootRule"/> over a vocabulary.</summary>
    public GrammarSampler(GbnfGrammar grammar, ISamplingVocabulary vocabulary, string rootRule = "root")
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        this.vocabulary = vocabulary;
        initial = GrammarMatcher.Create(grammar, rootRule);
        Matcher = initial.Clone();
        decoded = new (uint[], PartialUtf8)?[vocabulary.Count];
    }

    /// <summary>A sampler for the GBNF text <paramref name="gbnf"/> (parsed here).</summary>
    public GrammarSampler(string gbnf, ISamplingVocabulary vocabulary, string rootRule = "root")
        : this(GbnfGrammar.Parse(gbnf), vocabulary, rootRule)
    {
    }

    /// <inheritdoc/>
    public string Name => "grammar";

    /// <summary>The grammar's state after the tokens accepted so far.</summary>
    public GrammarMatcher Matcher { get; private set; }

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var span = candidates.Span;
        var allowEnd = Matcher.CanEnd;
        var toCheck = new List<GrammarCandidate>(span.Length);
        for (var i = 0; i < span.Length; i++)
        {
            var id = span[i].Id;
            if (vocabulary.IsEndOfGeneration(id))
            {
                if (!allowEnd)
                {
                    span[i].Logit = float.NegativeInfinity;
                }
                continue;
            }
            var text = id < vocabulary.Count ? vocabulary.TokenText(id) : [];
            if (text.IsEmpty || text[0] == 0)
            {
                span[i].Logit = float.NegativeInfinity;
                continue;
            }
            var (codePoints, partial) = Decode(id, text);
            toCheck.Add(new GrammarCandidate(i, codePoints, 0, partial));
        }
        foreach (var reject in Matcher.RejectCandidates(toCheck))
        {
            span[reject.Index].Logit = float.NegativeInfinity;
        }
    }

    /// <summary>
    /// Whether the grammar allows <paramref name="token"/> next — the grammar applied to that token alone,
    /// as <c>common_sampler_sample</c> checks the token the chain chose.
    /// </summary>
    public bool Allows(int token)
    {
        if (vocabulary.IsEndOfGeneration(token))
        {
            return Matcher.CanEnd;
        }
        var text = token >= 0 && token < vocabulary.Count ? vocabulary.TokenText(token) : [];
        if (text.IsEmpty || text[0] == 0)
        {
            return false;
        }
        var (codePoints, partial) = Decode(token, text);
        return Matcher.RejectCandidates([new GrammarCandidate(0, codePoints, 0, partial)]).Count == 0;
    }

    /// <summary>
    /// Advances the grammar over the token's text. An end-of-generation token is accepted only where the
    /// grammar can end; a token the grammar refuses throws (llama.cpp aborts there).
    /// </summary>
    public void Accept(int token)
    {
        if (vocabulary.IsEndOfGeneration(token))
        {
            if (!Matcher.CanEnd)
            {
                throw new InvalidOperationException($"end-of-generation token {token} accepted where the grammar cannot end");
            }
            return;
        }
        if (!Matcher.AcceptText(vocabulary.TokenText(token)))
        {
            throw new InvalidOperationException($"token {token} does not continue the grammar");
        }
    }

    /// <inheritdoc/>
    public void Reset() => Matcher = initial.Clone();

    (uint[] CodePoints, PartialUtf8 Partial) Decode(int id, ReadOnlySpan<byte> text)
    {
        // only a sequence still due changes the decoding (llama.cpp ignores the value otherwise)
        if (Matcher.Partial.Remaining > 0)
        {
            return PartialUtf8.Decode(text, Matcher.Partial);
        }
        return decoded[id] ??= PartialUtf8.Decode(text, PartialUtf8.None);
    }
}
