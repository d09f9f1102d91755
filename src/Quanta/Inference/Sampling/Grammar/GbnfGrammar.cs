namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// A parsed GBNF grammar: its rules compiled to element lists and the ids of its symbols — what llama.cpp's
/// <c>llama_grammar_parser</c> holds after <c>parse</c>. Repetitions and groups become generated rules named
/// <c>rule_N</c>, exactly as llama.cpp names and numbers them. <see cref="Parse"/> checks that every rule
/// referenced is defined; <see cref="GrammarMatcher"/> checks the root rule and left recursion.
/// </summary>
public sealed class GbnfGrammar
{
    internal GbnfGrammar(IReadOnlyList<GrammarElement[]> rules, IReadOnlyDictionary<string, int> symbols)
    {
        Rules = rules;
        Symbols = symbols;
    }

    /// <summary>The rules by id; each ends with <see cref="GrammarElementType.End"/>.</summary>
    public IReadOnlyList<GrammarElement[]> Rules { get; }

    /// <summary>Every symbol name (written and generated) and its rule id.</summary>
    public IReadOnlyDictionary<string, int> Symbols { get; }

    /// <summary>Parses GBNF text; a syntax error or an undefined rule throws <see cref="GbnfFormatException"/>.</summary>
    public static GbnfGrammar Parse(string text) => GbnfParser.Parse(text);
}
