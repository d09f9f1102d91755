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

    sealed record RawCase(string Name, string Template, string Data, string? Expected, string? Error);

    /// <summary>A fixture: each data set once under a name, then the cases naming theirs.</summary>
    sealed record Fixture(Dictionary<string, JsonElement> Data, List<RawCase> Cases);

    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    static List<Case> Load(string file)
    {
        var fixture = JsonSerializer.Deserialize<Fixture>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", file)), Json)!;
        return [.. fixture.Cases.Select(c => new Case(c.Name, c.Template, fixture.Data[c.Data], c.Expected, c.Error))];
    }

    static IReadOnlyList<Case> Cases() => Load("render-cases.json");

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
        Assert.Equal(c.Error is null ? c.Expected : "error: " + c.Error, Outcome(c));
    }

    static string Outcome(Case c)
    {
        try
        {
            // Go's parser without Ollama's extra check, as the oracle ran it (two cases call {{template}} bare).
            return GoTemplate.Parse(c.Template, OllamaTemplate.Functions.Keys).Render(GoValue(c.Data), OllamaTemplate.Functions);
        }
        catch (TemplateException e)
        {
            return "error: " + e.Message;
        }
    }

    /// <summary>300 random pipelines (render-random.json) over one data set, against Go: output or error, byte for byte.</summary>
    [Fact]
    public void Renders_random_pipelines_as_go_does()
    {
        var cases = Load("render-random.json");
        Assert.Equal(300, cases.Count);
        var mismatches = cases
            .Select(c => (c.Template, Expected: c.Error is null ? c.Expected : "error: " + c.Error, Actual: Outcome(c)))
            .Where(r => r.Expected != r.Actual)
            .Select(r => $"{r.Template}\n  Go:     {r.Expected}\n  Quanta: {r.Actual}")
            .ToList();
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} differ:\n" + string.Join("\n", mismatches));
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

    /// <summary>
    /// What Go added after the Go 1.19 that runs the oracle here, as its documentation states it: ranging over an
    /// integer n gives 0 ... n-1 (Go 1.22), and "else with" chains like "else if" (Go 1.23). Ollama builds with both.
    /// </summary>
    [Theory]
    [InlineData("{{ range 3 }}{{ . }}{{ end }}", "012")]
    [InlineData("{{ range $i := .N }}[{{ $i }}]{{ end }}", "[0][1]")]
    [InlineData("{{ range 0 }}x{{ else }}none{{ end }}", "none")]
    [InlineData("{{ with .Missing }}x{{ else with .A }}{{ . }}{{ else }}none{{ end }}", "a")]
    [InlineData("{{ with .Missing }}x{{ else with .B }}{{ . }}{{ else }}none{{ end }}", "none")]
    public void Follows_newer_go_where_go_1_19_cannot_be_the_oracle(string text, string expected)
    {
        var data = new Dictionary<string, object?> { ["A"] = "a", ["B"] = "", ["N"] = 2 };
        Assert.Equal(expected, GoTemplate.Parse(text).Render(data));
    }

    [Fact]
    public void Ranging_over_an_integer_takes_one_variable()
    {
        var e = Assert.Throws<TemplateException>(() => GoTemplate.Parse("{{ range $i, $e := 3 }}{{ end }}").Render(null));
        Assert.EndsWith("can't use 3 to iterate over more than one variable", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A map whose type has its own ToString, as Ollama's tool arguments (a Go map type with a String method).</summary>
    sealed class JsonArguments : Dictionary<string, object?>
    {
        public override string ToString() => "{\"city\":\"Paris\"}";
    }

    /// <summary>Go's fmt prints a value with a String method through it, also inside lists; range and json still see the map.</summary>
    [Fact]
    public void A_map_with_its_own_to_string_prints_through_it()
    {
        var arguments = new JsonArguments { ["city"] = "Paris" };
        var data = new Dictionary<string, object?> { ["Args"] = arguments, ["List"] = new List<object?> { arguments } };
        var template = OllamaTemplate.Parse("{{ .Args }}|{{ .List }}|{{ printf \"%s\" .Args }}|{{ range $k, $v := .Args }}{{ $k }}={{ $v }}{{ end }}|{{ json .Args }}");
        Assert.Equal("{\"city\":\"Paris\"}|[{\"city\":\"Paris\"}]|{\"city\":\"Paris\"}|city=Paris|{\"city\":\"Paris\"}", OllamaTemplate.Render(template, data));
    }

    [Fact]
    public void Objects_are_read_by_their_properties()
    {
        var template = GoTemplate.Parse("{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}");
        var data = new { Messages = new[] { new { Role = "user", Content = "hi" }, new { Role = "assistant", Content = "hello" } } };
        Assert.Equal("user: hi\nassistant: hello\n", template.Render(data));
    }
}
