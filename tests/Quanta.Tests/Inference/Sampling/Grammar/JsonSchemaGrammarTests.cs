using System.Text.RegularExpressions;
using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// JSON Schema → GBNF against llama.cpp's tests/test-json-schema-to-grammar.cpp (the expected grammar of each
/// schema, compared after that test's trimming; the schemas it must refuse) and the schema cases of
/// test-grammar-integration.cpp (the same grammar llama.cpp's converter wrote, which then accepts and
/// refuses the listed strings).
/// </summary>
public partial class JsonSchemaGrammarTests
{
    [GeneratedRegex("(^|\n)[ \t]+")]
    private static partial Regex IndentRe();

    // test-json-schema-to-grammar.cpp's trim(): outer whitespace, then each line's leading blanks
    static string Trim(string text) => IndentRe().Replace(text.Trim(' ', '\n', '\r', '\t'), "$1");

    [Theory]
    [MemberData(nameof(GrammarFixtures.SchemaIndices), MemberType = typeof(GrammarFixtures))]
    public void ConvertsAsLlamaCpp(int index)
    {
        var @case = GrammarFixtures.Schema(index);
        var schema = @case.GetProperty("schema").GetString()!;
        if (!@case.GetProperty("success").GetBoolean())
        {
            var error = Assert.Throws<JsonSchemaConversionException>(() => JsonSchemaGrammar.FromSchema(schema));
            Assert.Equal(@case.GetProperty("error").GetString(), error.Message);
            return;
        }
        var grammar = JsonSchemaGrammar.FromSchema(schema);
        Assert.Equal(Trim(@case.GetProperty("expected").GetString()!), Trim(grammar));
        Assert.Equal(@case.GetProperty("actual").GetString(), grammar);
        // and the grammar is one the parser and matcher take
        GrammarMatcher.Create(GbnfGrammar.Parse(grammar));
    }

    [Theory]
    [MemberData(nameof(GrammarFixtures.IntegrationIndices), MemberType = typeof(GrammarFixtures))]
    public void SchemasOfTheIntegrationTestConvertAsLlamaCpp(int index)
    {
        var @case = GrammarFixtures.Integration(index);
        if (@case.GetProperty("kind").GetString() != "schema")
        {
            return;
        }
        var grammar = JsonSchemaGrammar.FromSchema(@case.GetProperty("source").GetString()!);
        Assert.Equal(@case.GetProperty("grammar").GetString(), grammar);
        var matcher = GrammarMatcher.Create(GbnfGrammar.Parse(grammar));
        foreach (var passing in GrammarFixtures.Strings(@case.GetProperty("passing")))
        {
            Assert.True(matcher.Matches(passing), $"should accept: {passing}");
        }
        foreach (var failing in GrammarFixtures.Strings(@case.GetProperty("failing")))
        {
            Assert.False(matcher.Matches(failing), $"should refuse: {failing}");
        }
    }

    [Fact]
    public void NotJsonIsAConversionError()
    {
        var error = Assert.Throws<JsonSchemaConversionException>(() => JsonSchemaGrammar.FromSchema("{\"type\": "));
        Assert.StartsWith("the JSON schema is not valid JSON", error.Message);
    }
}
