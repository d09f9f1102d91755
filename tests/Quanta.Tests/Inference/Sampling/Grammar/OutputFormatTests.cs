using System.Text.Json;
using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// Ollama's choice of grammar for <c>format</c> (its llm/server_test.go TestLLMServerCompletionFormat: the
/// valid and invalid values and the error text) and for OpenAI's <c>response_format</c>.
/// </summary>
public class OutputFormatTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("\"\"")]
    [InlineData("null")]
    public void MissingFormatsHaveNoGrammar(string? format) => Assert.Null(OutputFormat.FromOllamaFormat(format));

    [Fact]
    public void JsonIsTheJsonGrammarAndAnObjectIsASchema()
    {
        Assert.Equal(JsonGrammar.Gbnf, OutputFormat.FromOllamaFormat("\"json\""));
        Assert.Equal("""
            root ::= "{" space  "}" space
            space ::= | " " | "\n" [ \t]{0,20}

            """.ReplaceLineEndings("\n"), OutputFormat.FromOllamaFormat("""{"type":"object","additionalProperties":false}"""));
        Assert.Equal(JsonSchemaGrammar.FromSchema("""{"type":"object"}"""), OutputFormat.FromOllamaFormat("""{"type":"object"}"""));
    }

    [Theory]
    [InlineData("X", "invalid format: \"X\"; expected \"json\" or a valid JSON Schema object")]
    [InlineData("\"X\"", "invalid format: \"\\\"X\\\"\"; expected \"json\" or a valid JSON Schema object")]
    [InlineData("{\"type\": \"kaboom\"}", "invalid JSON schema in format")]
    public void OtherFormatsAreRefusedWithOllamasMessage(string format, string message)
    {
        var error = Assert.Throws<JsonSchemaConversionException>(() => OutputFormat.FromOllamaFormat(format));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void OpenAIResponseFormatsMapAsOllamaMapsThem()
    {
        static string? Map(string json) => OutputFormat.FromOpenAIResponseFormat(JsonDocument.Parse(json).RootElement);
        Assert.Equal(JsonGrammar.Gbnf, Map("""{"type":"json_object"}"""));
        Assert.Equal(JsonSchemaGrammar.FromSchema("""{"type":"array","items":{"type":"integer"}}"""),
            Map("""{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"array","items":{"type":"integer"}}}}"""));
        Assert.Null(Map("""{"type":"text"}"""));
        Assert.Null(Map("""{"type":"json_schema","json_schema":{"name":"n"}}"""));
    }
}
