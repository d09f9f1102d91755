namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The kinds of element a compiled grammar rule holds — llama.cpp's <c>llama_gretype</c>, with its numeric
/// values.
/// </summary>
public enum GrammarElementType
{
    /// <summary>End of a rule definition.</summary>
    End = 0,

    /// <summary>Start of another alternative of the rule.</summary>
    Alternative = 1,

    /// <summary>A reference to another rule (the value is its id).</summary>
    RuleReference = 2,

    /// <summary>A code point to match (the first of a character class).</summary>
    Char = 3,

    /// <summary>The first code point of a negated class (<c>[^a]</c>).</summary>
    CharNot = 4,

    /// <summary>Turns the preceding character into an inclusive range up to this code point (<c>[a-z]</c>).</summary>
    CharRangeUpper = 5,

    /// <summary>Another code point (or range start) of the same class (<c>[ab]</c>).</summary>
    CharAlternative = 6,

    /// <summary>Any code point (<c>.</c>).</summary>
    CharAny = 7,
}

/// <summary>One element of a compiled rule: its kind and a code point or rule id (<c>llama_grammar_element</c>).</summary>
public readonly record struct GrammarElement(GrammarElementType Type, uint Value)
{
    /// <summary>Whether this element ends an alternative (<c>llama_grammar_is_end_of_sequence</c>).</summary>
    public bool IsEndOfSequence => Type is GrammarElementType.End or GrammarElementType.Alternative;

    /// <inheritdoc/>
    public override string ToString() => $"{Type}({Value})";
}
