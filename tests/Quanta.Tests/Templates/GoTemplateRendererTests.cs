using System.Text.Json;
using Quanta.Templates;
using Quanta.Templates.Go;

namespace Quanta.Tests.Templates;

/// <summary>
/// The renderer against Go's text/template. Fixtures/templates/render-cases.json holds templates (every Ollama TEMPLATE
/// fixture over four conversations, then expressions covering each feature and error) with data, and what Go printed
/// (or its error) executing them with missingkey=zero and Ollama's functions over the data decoded as Go decodes JSON.
/// </summary>
public class GoTemplateRendererTests
{
    sealed record Case(string Name, string Template, JsonElement Data, string? Expected, string? Error);

    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    static IReadOnlyList<Case> Cases() => JsonSerializer.Deserialize<List<Case>>(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "render-cases.json")), Json)!;

    public static TheoryData<string> CaseNames() => [.. Cases().Select(c => c.Name)];

    /// <summary>JSON as Go's encoding/json decodes it into an <c>any</c>: maps, slices, float64, string, bool, nil.</summary>
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

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Renders_as_go_does(string name)
    {
        var c = Cases().Single(x => x.Name == name);
        string actual;
        try
        {
            // Go's parser without Ollama's extra check, as the oracle ran it (two cases call {{template}} bare).
            actual = GoTemplate.Parse(c.Template, OllamaTemplate.Functions.Keys).Render(GoValue(c.Data), OllamaTemplate.Functions);
        }
        catch (TemplateException e)
        {
            actual = "error: " + e.Message;
        }
        Assert.Equal(c.Error is null ? c.Expected : "error: " + c.Error, actual);
    }

    [Fact]
    public void The_table_renders_ollamas_templates_and_go_errors()
    {
        var cases = Cases();
        Assert.True(cases.Count(c => c.Name.Contains("gotmpl", StringComparison.Ordinal) && c.Error is null) >= 100);
        Assert.True(cases.Count(c => c.Error is not null) >= 15);
    }

    [Fact]
    public void Current_date_is_todays()
    {
        var template = OllamaTemplate.Parse("{{ currentDate }} {{ yesterdayDate }}");
        var today = DateTime.Now;
        var rendered = OllamaTemplate.Render(template, null);
        // Go formats the local date as 2006-01-02; around midnight the two calls may straddle days.
        Assert.True(
            rendered == $"{today:yyyy-MM-dd} {today.AddDays(-1):yyyy-MM-dd}" || DateTime.Now.Date != today.Date,
            rendered);
    }

    [Fact]
    public void Objects_are_read_by_their_properties()
    {
        var template = GoTemplate.Parse("{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}");
        var data = new { Messages = new[] { new { Role = "user", Content = "hi" }, new { Role = "assistant", Content = "hello" } } };
        Assert.Equal("user: hi\nassistant: hello\n", template.Render(data));
    }
}
