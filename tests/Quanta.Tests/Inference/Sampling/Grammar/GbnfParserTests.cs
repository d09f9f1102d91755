using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// The parser against llama.cpp's tests/test-grammar-parser.cpp: the same symbol ids (generated rules
/// included) and the same compiled elements, rule by rule; and the grammars it refuses.
/// </summary>
public class GbnfParserTests
{
    [Theory]
    [MemberData(nameof(GrammarFixtures.ParserIndices), MemberType = typeof(GrammarFixtures))]
    public void ParsesAsLlamaCpp(int index)
    {
        var @case = GrammarFixtures.Parser(index);
        var text = @case.GetProperty("grammar").GetString()!;
        if (@case.TryGetProperty("fails", out _))
        {
            Assert.Throws<GbnfFormatException>(() => GbnfGrammar.Parse(text));
            return;
        }
        var grammar = GbnfGrammar.Parse(text);
        var expectedSymbols = @case.GetProperty("symbols").EnumerateArray()
            .Select(s => (s[0].GetString()!, s[1].GetInt32())).ToList();
        var actualSymbols = grammar.Symbols.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList();
        Assert.Equal(expectedSymbols, actualSymbols);
        var expectedElements = @case.GetProperty("elements").EnumerateArray()
            .Select(e => $"{e[0].GetString()}({e[1].GetUInt32()})").ToList();
        var actualElements = grammar.Rules.SelectMany(r => r).Select(Name).ToList();
        Assert.Equal(expectedElements, actualElements);
    }

    static string Name(GrammarElement e) => e.Type switch
    {
        GrammarElementType.End => "END",
        GrammarElementType.Alternative => "ALT",
        GrammarElementType.RuleReference => "RULE_REF",
        GrammarElementType.Char => "CHAR",
        GrammarElementType.CharNot => "CHAR_NOT",
        GrammarElementType.CharRangeUpper => "CHAR_RNG_UPPER",
        GrammarElementType.CharAlternative => "CHAR_ALT",
        GrammarElementType.CharAny => "CHAR_ANY",
        _ => "?",
    } + $"({e.Value})";

    [Theory]
    [InlineData("root ::= \"a\"\nfoo ::= \"b\" bar", "undefined rule identifier 'bar' at line 2, column 13")]
    [InlineData("root ::= \"a\" |\n  \"b\" (\"c\"", "expecting ')' at line 2, column 11")]
    [InlineData("root ::= [a-z\n", "unexpected end of input at line 2, column 1")]
    [InlineData("root := \"a\"", "expecting ::= at line 1, column 6")]
    [InlineData("root ::= \"\\q\"", "unknown escape at line 1, column 11")]
    [InlineData("root ::= \"\\x4\"", "expecting 2 hex chars at line 1, column 13")]
    [InlineData("root ::= * \"a\"", "expecting preceding item to */+/?/{ at line 1, column 10")]
    [InlineData("root ::= \"a\"{2,x}", "expecting '}' at line 1, column 16")]
    [InlineData("root ::= \"é\" )", "expecting newline or end at line 1, column 14")]
    public void ErrorsNameTheLineAndColumn(string grammar, string message)
    {
        var error = Assert.Throws<GbnfFormatException>(() => GbnfGrammar.Parse(grammar));
        Assert.Equal(message, error.Message);
    }

    // test-grammar-integration.cpp's test_failure_missing_root / _missing_reference
    [Fact]
    public void MissingRootParsesButCannotStart()
    {
        var grammar = GbnfGrammar.Parse("""

            rot ::= expr
            expr ::= term ("+" term)*
            term ::= number
            number ::= [0-9]+
            """);
        Assert.NotEmpty(grammar.Rules);
        Assert.False(grammar.Symbols.ContainsKey("root"));
        Assert.Equal("the grammar does not define the root rule 'root'", Assert.Throws<GbnfFormatException>(() => GrammarMatcher.Create(grammar)).Message);
    }

    [Fact]
    public void MissingReferenceFails()
    {
        var error = Assert.Throws<GbnfFormatException>(() => GbnfGrammar.Parse("""
            root ::= expr
                    expr ::= term ("+" term)*
                    term ::= numero
                    number ::= [0-9]+
            """));
        Assert.StartsWith("undefined rule identifier 'numero'", error.Message);
    }
}
