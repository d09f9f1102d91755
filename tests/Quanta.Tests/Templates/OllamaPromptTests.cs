using System.Text.Json;
using Quanta.Templates;
using Quanta.Templates.Go;
using Quanta.Templates.Ollama;

namespace Quanta.Tests.Templates;

/// <summary>
/// Ollama's chat prompt construction against Go. Fixtures/templates/ollama-prompts/prompts.json holds what a copy of
/// Ollama's <c>template.Execute</c> and <c>chatPrompt</c> (run with Go's text/template, see the README beside it)
/// built for every Ollama TEMPLATE fixture and a few legacy ones over conversations with and without a system
/// message, several turns, merged roles, a trailing assistant message, images, tool calls and results, thinking
/// settings and truncation to a context length (tokens counted as whitespace-separated words).
/// </summary>
public class OllamaPromptTests
{
    sealed record Conversation(List<JsonElement> Messages, List<JsonElement>? Tools);

    sealed record Case(string Template, string Conversation, JsonElement? Think, int? Num_ctx, bool Projector, string? Prompt, string? Error)
    {
        public string Id => $"{Template} / {Conversation} / think={Think?.ToString() ?? "unset"} / ctx={Num_ctx?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}{(Projector ? " / projector" : "")}";
    }

    sealed record Fixture(Dictionary<string, string> Templates, Dictionary<string, Conversation> Conversations, List<Case> Cases);

    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    static readonly Lazy<Fixture> Loaded = new(() => JsonSerializer.Deserialize<Fixture>(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "ollama-prompts", "prompts.json")), Json)!);

    public static TheoryData<string> CaseIds() => [.. Loaded.Value.Cases.Select(c => c.Id)];

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Builds_the_prompt_ollama_builds(string id)
    {
        var fixture = Loaded.Value;
        var c = fixture.Cases.Single(x => x.Id == id);
        var text = fixture.Templates.TryGetValue(c.Template, out var inline)
            ? inline
            : File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", c.Template));
        var conversation = fixture.Conversations[c.Conversation];
        var request = new PromptRequest([.. conversation.Messages.Select(Message)])
        {
            Tools = conversation.Tools?.Select(Tool).ToList(),
            Think = c.Think switch
            {
                null => null,
                { ValueKind: JsonValueKind.String } level => ThinkSetting.FromLevel(level.GetString()!),
                { } flag => ThinkSetting.FromBool(flag.GetBoolean()),
            },
        };
        var budget = c.Num_ctx is { } context ? new PromptBudget(context, CountWords, c.Projector) : null;
        var template = OllamaPromptTemplate.Parse(text);
        if (c.Error is not null)
        {
            // Ollama's last turn runs without its functions and defined templates, and some trees make its cut panic.
            Assert.Equal(c.Error, Assert.Throws<TemplateException>(() => OllamaPrompt.Chat(template, request, budget)).Message);
            return;
        }
        Assert.Equal(c.Prompt, OllamaPrompt.Chat(template, request, budget).Text);
    }

    [Fact]
    public void Truncation_keeps_the_system_message_and_the_last_turn()
    {
        var template = OllamaPromptTemplate.Parse("{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}");
        var request = new PromptRequest([new("system", "be brief"), new("user", "one two three"), new("assistant", "four"), new("user", "five six")]);
        var prompt = OllamaPrompt.Chat(template, request, new PromptBudget(2, CountWords));
        Assert.Equal("system:be brief;user:five six;", prompt.Text);
        Assert.Equal(3, prompt.FirstMessage);
    }

    [Fact]
    public void Images_are_tagged_in_order_and_returned()
    {
        var template = OllamaPromptTemplate.Parse("{{ range .Messages }}{{ .Content }}|{{ end }}");
        var request = new PromptRequest([
            new("user", "look [img] and [img]") { Images = [[1], [2], [3]] },
            new("user", "again") { Images = [[4]] },
        ]);
        var prompt = OllamaPrompt.Chat(template, request);
        Assert.Equal("[img-2]look [img-0] and [img-1]\n\n[img-3]again|", prompt.Text);
        Assert.Equal([1, 2, 3, 4], prompt.Images.Select(i => (int)i[0]));
    }

    /// <summary>The oracle's token count: Go's <c>len(strings.Fields(s))</c>.</summary>
    static int CountWords(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    static PromptMessage Message(JsonElement m)
    {
        string Text(string name) => m.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
        return new PromptMessage(Text("role"), Text("content"))
        {
            Thinking = Text("thinking"),
            ToolName = Text("tool_name"),
            ToolCallID = Text("tool_call_id"),
            Images = m.TryGetProperty("images", out var images) ? [.. images.EnumerateArray().Select(i => i.GetBytesFromBase64())] : [],
            ToolCalls = m.TryGetProperty("tool_calls", out var calls) ? [.. calls.EnumerateArray().Select(ToolCall)] : [],
        };
    }

    static PromptToolCall ToolCall(JsonElement call)
    {
        var function = call.GetProperty("function");
        var arguments = new PromptToolArguments();
        foreach (var argument in function.GetProperty("arguments").EnumerateObject())
        {
            arguments[argument.Name] = GoValue(argument.Value);
        }
        return new PromptToolCall(
            call.TryGetProperty("id", out var id) ? id.GetString()! : "",
            new PromptToolCallFunction(function.TryGetProperty("index", out var index) ? index.GetInt32() : 0, function.GetProperty("name").GetString()!, arguments));
    }

    static PromptTool Tool(JsonElement tool)
    {
        var function = tool.GetProperty("function");
        var parameters = function.GetProperty("parameters");
        var properties = new PromptToolProperties { IsAbsent = !parameters.TryGetProperty("properties", out var props) };
        if (!properties.IsAbsent)
        {
            foreach (var p in props.EnumerateObject())
            {
                properties[p.Name] = Property(p.Value);
            }
        }
        return new PromptTool(tool.GetProperty("type").GetString()!, new PromptToolFunction(
            function.GetProperty("name").GetString()!,
            function.TryGetProperty("description", out var description) ? description.GetString()! : "",
            new PromptToolParameters(parameters.GetProperty("type").GetString()!, properties)
            {
                Required = parameters.TryGetProperty("required", out var required) ? [.. required.EnumerateArray().Select(r => r.GetString()!)] : [],
            }));
    }

    static PromptToolProperty Property(JsonElement p)
    {
        var type = new PromptPropertyType();
        if (p.TryGetProperty("type", out var t))
        {
            type.AddRange(t.ValueKind == JsonValueKind.String ? [t.GetString()!] : t.EnumerateArray().Select(x => x.GetString()!));
        }
        return new PromptToolProperty
        {
            Type = type,
            Description = p.TryGetProperty("description", out var d) ? d.GetString()! : "",
            Items = p.TryGetProperty("items", out var items) ? GoValue(items) : null,
            Enum = p.TryGetProperty("enum", out var e) ? [.. e.EnumerateArray().Select(GoValue)] : [],
        };
    }

    /// <summary>JSON as Go's encoding/json decodes it into an <c>any</c>.</summary>
    static object? GoValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => GoValue(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(GoValue).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
