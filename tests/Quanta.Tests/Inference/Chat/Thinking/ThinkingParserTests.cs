using System.Text.Json;
using Quanta.Inference.Chat.Thinking;
using Quanta.Templates.Go;

namespace Quanta.Tests.Inference.Chat.Thinking;

/// <summary>
/// The thinking parser and tag inference against Ollama's own tests (thinking/parser_test.go and
/// thinking/template_test.go, in Fixtures/thinking): whole outputs, outputs streamed piece by piece with the
/// state after each piece, and the tags four templates give.
/// </summary>
public class ThinkingParserTests
{
    static readonly JsonElement Cases = JsonDocument.Parse(File.ReadAllBytes(
        Path.Combine(AppContext.BaseDirectory, "Fixtures", "thinking", "ollama-thinking-tests.json"))).RootElement;

    public static TheoryData<int> ExtractIndices() => [.. Enumerable.Range(0, Cases.GetProperty("extract").GetArrayLength())];

    public static TheoryData<string> StreamingCases() => [.. Cases.GetProperty("streaming").EnumerateArray().Select(c => c.GetProperty("description").GetString()!)];

    public static TheoryData<string> TagCases() => [.. Cases.GetProperty("infer_tags").EnumerateArray().Select(c => c.GetProperty("description").GetString()!)];

    [Theory]
    [MemberData(nameof(ExtractIndices))]
    public void ExtractsThinkingAsOllama(int index)
    {
        var @case = Cases.GetProperty("extract")[index];
        var parser = new ThinkingParser("<think>", "</think>");
        var piece = parser.AddContent(@case.GetProperty("input").GetString()!);
        Assert.Equal(@case.GetProperty("thinking").GetString(), piece.Thinking);
        Assert.Equal(@case.GetProperty("content").GetString(), piece.Content);
    }

    [Theory]
    [MemberData(nameof(StreamingCases))]
    public void StreamsAsOllama(string description)
    {
        var @case = Cases.GetProperty("streaming").EnumerateArray().Single(c => c.GetProperty("description").GetString() == description);
        var parser = new ThinkingParser("<think>", "</think>");
        var step = 0;
        foreach (var s in @case.GetProperty("steps").EnumerateArray())
        {
            var (thinking, content) = parser.AddContent(s.GetProperty("input").GetString()!);
            Assert.True(s.GetProperty("thinking").GetString() == thinking, $"step {step}: thinking {thinking}");
            Assert.True(s.GetProperty("content").GetString() == content, $"step {step}: content {content}");
            Assert.Equal(Enum.Parse<ThinkingState>(s.GetProperty("state").GetString()!), parser.State);
            step++;
        }
    }

    [Theory]
    [MemberData(nameof(TagCases))]
    public void InfersTagsAsOllama(string description)
    {
        var @case = Cases.GetProperty("infer_tags").EnumerateArray().Single(c => c.GetProperty("description").GetString() == description);
        var template = GoTemplate.Parse(@case.GetProperty("template").GetString()!, name: "test");
        var (opening, closing) = ThinkingTags.InferTags(template);
        Assert.Equal(@case.GetProperty("opening").GetString(), opening);
        Assert.Equal(@case.GetProperty("closing").GetString(), closing);
        var tags = ThinkingTags.FromGoTemplate(template);
        Assert.Equal(opening.Length > 0, tags is not null);
    }

    [Fact]
    public void APromptEndingWithTheOpeningTagStartsInsideTheThinking()
    {
        var parser = ThinkingParser.ForPrompt("<|im_start|>assistant\n<think>\n", "<think>", "</think>");
        Assert.Equal(ThinkingState.ThinkingStartedEatingWhitespace, parser.State);
        Assert.Equal(new ThinkingPiece("plan", ""), parser.AddContent("plan</think>"));
        Assert.Equal(new ThinkingPiece("", "answer"), parser.AddContent("\nanswer"));
        Assert.Equal(ThinkingState.LookingForOpening, ThinkingParser.ForPrompt("<|im_start|>assistant\n", "<think>", "</think>").State);
    }

    [Fact]
    public void OutputSplitAtEveryCharacterGivesTheSameText()
    {
        const string output = "  <think> weigh the options </think>\n\nThe answer is 42.";
        var parser = new ThinkingParser("<think>", "</think>");
        var thinking = "";
        var content = "";
        foreach (var c in output)
        {
            var piece = parser.AddContent(c.ToString());
            thinking += piece.Thinking;
            content += piece.Content;
        }
        Assert.Equal("weigh the options ", thinking);
        Assert.Equal("The answer is 42.", content);
    }

    [Fact]
    public void JinjaTemplatesNamingBothTagsGetThem()
    {
        Assert.Equal(ThinkingTags.Think, ThinkingTags.FromJinjaTemplate("{% if '</think>' in content %}{{ content.split('</think>')[-1] }}{% endif %}<think>\n"));
        Assert.Null(ThinkingTags.FromJinjaTemplate("{{ messages[0].content }}"));
    }
}
