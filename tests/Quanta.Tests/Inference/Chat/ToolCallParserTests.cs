using Quanta.Inference.Chat;
using Quanta.Templates;

namespace Quanta.Tests.Inference.Chat;

/// <summary>
/// Tool calls read back out of model text as Ollama's parser reads them (ollama/ollama tools/tools.go and its
/// tools_test.go cases for Qwen's <c>&lt;tool_call&gt;</c>, Mistral's <c>[TOOL_CALLS]</c> and Llama 3's bare JSON),
/// whole and streamed a character at a time.
/// </summary>
public sealed class ToolCallParserTests
{
    static readonly string[] Tools = ["get_weather", "get_time", "get"];

    [Theory]
    [InlineData("{{- if .ToolCalls }}<tool_call>\n{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\"}{{ end }}</tool_call>{{ end }}", "<tool_call>")]
    [InlineData("{{ range .Messages }}{{- if .ToolCalls }}{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\", \"parameters\": {{ .Function.Arguments }}}{{ end }}{{ end }}{{ end }}", "{")]
    [InlineData("{{ if .ToolCalls }}[TOOL_CALLS] [{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\"}{{ end }}]{{ end }}", "[TOOL_CALLS] [")]
    [InlineData("{{ .Prompt }}", "{")]
    public void The_tag_is_the_text_the_template_writes_before_its_tool_calls(string template, string tag) =>
        Assert.Equal(tag, ToolCallParser.TagOf(OllamaTemplate.Parse(template)));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Qwen_calls_after_content_are_taken_out_of_it(bool streamed)
    {
        var (calls, content) = Parse("<tool_call>", "I will check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><tool_call>{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}</tool_call>", streamed);
        Assert.Equal("I will check.", content);
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal([0, 1], calls.Select(c => c.Index));
        Assert.Equal("""{"city":"Paris"}""", calls[0].Arguments.ToJsonString());
        Assert.Equal("""{"zone":"CET"}""", calls[1].Arguments.ToJsonString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama_bare_JSON_calls_with_parameters_or_arguments_as_a_string(bool streamed)
    {
        var (calls, content) = Parse("{", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": [1, 2]}}", streamed);
        Assert.Equal("", content);
        var call = Assert.Single(calls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("""{"city":"Paris","days":[1,2]}""", call.Arguments.ToJsonString());

        (calls, _) = Parse("{", "{\"name\": \"get_time\", \"arguments\": \"{\\\"zone\\\": \\\"CET\\\"}\"}", streamed);
        Assert.Equal("""{"zone":"CET"}""", Assert.Single(calls).Arguments.ToJsonString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_a_bracket_tag_text_first_is_content_and_JSON_that_is_no_call_is_given_back(bool streamed)
    {
        var (calls, content) = Parse("{", "The answer is {\"name\": \"get_weather\", \"arguments\": {}}", streamed);
        Assert.Empty(calls);
        Assert.Equal("The answer is {\"name\": \"get_weather\", \"arguments\": {}}", content);

        (calls, content) = Parse("{", "{\"version\": 3} and more", streamed);
        Assert.Empty(calls);
        Assert.Equal("{\"version\": 3} and more", content);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mistral_calls_in_a_list_and_the_longest_name_wins(bool streamed)
    {
        var (calls, content) = Parse("[TOOL_CALLS]", "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"get\", \"arguments\": {\"key\": \"x\"}}]", streamed);
        Assert.Equal("", content);
        Assert.Equal(["get_weather", "get"], calls.Select(c => c.Name));
        Assert.Equal("""{"key":"x"}""", calls[1].Arguments.ToJsonString());
    }

    [Fact]
    public void A_call_without_arguments_is_no_call_as_in_Ollama()
    {
        var (calls, content) = Parse("<tool_call>", "<tool_call>{\"name\": \"get_time\"}</tool_call>", streamed: false);
        Assert.Empty(calls);
        Assert.Equal("", content);
    }

    static (List<ParsedToolCall> Calls, string Content) Parse(string tag, string text, bool streamed)
    {
        var parser = new ToolCallParser(Tools, tag);
        var calls = new List<ParsedToolCall>();
        var content = "";
        foreach (var piece in streamed ? text.Select(c => c.ToString()) : [text])
        {
            var (found, shown) = parser.Add(piece);
            calls.AddRange(found);
            content += shown;
        }
        return (calls, content + parser.Content());
    }
}
