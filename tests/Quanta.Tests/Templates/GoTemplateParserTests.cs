using System.Text;
using System.Text.Json;
using Quanta.Templates;
using Quanta.Templates.Go;

namespace Quanta.Tests.Templates;

/// <summary>
/// The Go template parser against Go itself. Fixtures/templates/parse-cases.json holds templates with what Go's
/// text/template (newest parse package, Ollama's functions, then Ollama's walk over the tree) says about each:
/// "ok" and the tree as Go's Node.String writes it, or the exact error. ollama-trees.json holds the same for every
/// TEMPLATE file copied from Ollama's repository.
/// </summary>
public class GoTemplateParserTests
{
    static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", name);

    sealed record Case(string Template, string Expected, string? Tree);

    static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    static IReadOnlyList<Case> Cases() =>
        JsonSerializer.Deserialize<List<Case>>(File.ReadAllText(FixturePath("parse-cases.json")), Json)!;

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, Cases().Count)];

    /// <summary>The tree as the oracle prints it: the top-level tree, then each defined one in name order.</summary>
    static string TreeString(GoTemplate template)
    {
        var sb = new StringBuilder(template.Trees.TryGetValue("", out var root) ? root.ToString() : "");
        foreach (var name in template.Trees.Keys.Where(n => n.Length > 0).Order(StringComparer.Ordinal))
        {
            sb.Append("{{define \"").Append(name).Append("\"}}").Append(template.Trees[name]).Append("{{end}}");
        }
        return sb.ToString();
    }

    static string Outcome(string text)
    {
        try
        {
            return TreeString(OllamaTemplate.Parse(text));
        }
        catch (TemplateException e)
        {
            return e.Message;
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Parses_as_go_does(int index)
    {
        var c = Cases()[index];
        Assert.Equal(c.Expected == "ok" ? c.Tree : c.Expected, Outcome(c.Template));
    }

    /// <summary>1000 templates assembled at random from the grammar's pieces (parse-random.json), against Go.</summary>
    [Fact]
    public void Parses_random_templates_as_go_does()
    {
        var cases = JsonSerializer.Deserialize<List<Case>>(File.ReadAllText(FixturePath("parse-random.json")), Json)!;
        Assert.Equal(1000, cases.Count);
        var mismatches = cases
            .Select(c => (c.Template, Expected: c.Expected == "ok" ? c.Tree : c.Expected, Actual: Outcome(c.Template)))
            .Where(r => r.Expected != r.Actual)
            .Select(r => $"{JsonSerializer.Serialize(r.Template)}: Go {r.Expected} / Quanta {r.Actual}")
            .ToList();
        Assert.Empty(mismatches);
    }

    [Fact]
    public void The_table_covers_each_kind_of_template_and_error()
    {
        var cases = Cases();
        Assert.True(cases.Count(c => c.Expected == "ok") >= 50);
        var errors = cases.Where(c => c.Expected != "ok").Select(c => c.Expected).ToList();
        Assert.True(errors.Count >= 60);
        foreach (var kind in new[]
        {
            "unclosed action", "unclosed comment", "comment ends before closing delimiter", "unclosed left paren",
            "unexpected right paren", "unterminated quoted string", "unterminated raw quoted string",
            "unterminated character constant", "bad number syntax", "bad character", "unrecognized character in action",
            "unexpected EOF", "not defined", "unexpected {{end}}", "missing value for", "expected end; found",
            "undefined variable", "non executable command", "unexpected . after term", "outside {{range}}",
            "malformed character constant", "invalid syntax", "integer overflow", "illegal number syntax",
            "multiple definition", "in define clause", "in template clause", "too many declarations",
            "range can only initialize variables", "undefined template specified", "in action started at",
        })
        {
            Assert.Contains(errors, e => e.Contains(kind, StringComparison.Ordinal));
        }
    }

    public static TheoryData<string> OllamaTemplateFiles() =>
        [.. JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(FixturePath("ollama-trees.json")))!.Keys];

    [Theory]
    [MemberData(nameof(OllamaTemplateFiles))]
    public void Parses_ollamas_templates_to_gos_tree(string file)
    {
        var expected = JsonSerializer.Deserialize<Dictionary<string, Case>>(File.ReadAllText(FixturePath("ollama-trees.json")), Json)![file];
        Assert.Equal("ok", expected.Expected);
        var text = File.ReadAllText(FixturePath(file));
        Assert.Equal(expected.Tree, TreeString(OllamaTemplate.Parse(text)));
    }

    [Fact]
    public void The_fixtures_include_the_families_ollama_ships()
    {
        foreach (var file in new[]
        {
            "ollama/llama3-instruct.gotmpl", "ollama/gemma-instruct.gotmpl", "ollama/gemma3-instruct.gotmpl",
            "ollama/mistral-instruct.gotmpl", "ollama/chatml.gotmpl", "ollama-tools/qwen2.5.gotmpl", "ollama/phi-3.gotmpl",
        })
        {
            Assert.True(File.Exists(FixturePath(file)), file);
        }
    }

    [Theory]
    [InlineData("{{ .Prompt ", 1)]
    [InlineData("a\nb\n{{ if .System }}x", 3)]
    [InlineData("{{ .A }}\n\n{{ foo }}", 3)]
    [InlineData("{{ .A\n\n", 3)]
    public void The_exception_carries_the_line_of_the_message(string text, int line)
    {
        var e = Assert.Throws<TemplateException>(() => OllamaTemplate.Parse(text));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"template: :{line}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builds_the_tree_a_renderer_walks()
    {
        var template = OllamaTemplate.Parse("{{- range $i, $m := .Messages }}{{ if eq $m.Role \"user\" }}U:{{ $m.Content }}{{ else if .ToolCalls }}T{{ end }}{{ end }}");
        var range = Assert.IsType<RangeNode>(Assert.Single(template.Root.Nodes));
        Assert.Equal(["$i", "$m"], range.Pipe.Declarations.Select(d => d.Ident[0]));
        Assert.Equal(["Messages"], Assert.IsType<FieldNode>(range.Pipe.Commands[0].Arguments[0]).Ident);
        var branch = Assert.IsType<IfNode>(Assert.Single(range.List.Nodes));
        var condition = branch.Pipe.Commands[0].Arguments;
        Assert.Equal("eq", Assert.IsType<IdentifierNode>(condition[0]).Name);
        Assert.Equal(["$m", "Role"], Assert.IsType<VariableNode>(condition[1]).Ident);
        Assert.Equal("user", Assert.IsType<StringNode>(condition[2]).Text);
        Assert.IsType<IfNode>(Assert.Single(branch.ElseList!.Nodes));
    }

    [Fact]
    public void Reads_number_literals_as_go_does()
    {
        NumberNode Number(string literal) => Assert.IsType<NumberNode>(
            Assert.IsType<ActionNode>(GoTemplate.Parse("{{ " + literal + " }}").Root.Nodes[0]).Pipe.Commands[0].Arguments[0]);
        Assert.Equal((true, true, true, 31L), (Number("0x1F").IsInt, Number("0x1F").IsUint, Number("0x1F").IsFloat, Number("0x1F").Int64));
        Assert.Equal((true, false, -7L), (Number("-7").IsInt, Number("-7").IsUint, Number("-7").Int64));
        Assert.Equal((false, 0.25), (Number("0x1p-2").IsInt, Number("0x1p-2").Float64));
        Assert.Equal((true, 1000L), (Number("1e3").IsInt, Number("1e3").Int64));
        Assert.Equal((true, 'é'), (Number("'\\u00e9'").IsInt, (char)Number("'\\u00e9'").Int64));
        Assert.Equal((true, 0b101L, 15L, 1000L), (Number("0b101").IsInt, Number("0b101").Int64, Number("017").Int64, Number("1_000").Int64));
        Assert.Equal((true, false), (Number("1+2i").IsComplex, Number("1+2i").IsFloat));
        Assert.Equal(ulong.MaxValue, Number("18446744073709551615").UInt64);
    }

    [Fact]
    public void Variables_are_what_ollama_reads_to_choose_a_rendering_path()
    {
        Assert.Equal(["$", "content", "messages", "role"], OllamaTemplate.Variables(OllamaTemplate.Parse("{{ range .Messages }}{{ .Role }}{{ $.Content }}{{ end }}")));
        Assert.Equal(["prompt", "system"], OllamaTemplate.Variables(OllamaTemplate.Parse("{{ if .System }}{{ .System }}{{ end }}{{ .Prompt }}")));
    }

    /// <summary>Go refuses more than 10,000 nested parentheses; deep nesting is an error, never a crashed process.</summary>
    [Fact]
    public void Deep_nesting_is_an_error_not_a_crash()
    {
        var tooDeep = "{{" + new string('(', 10001) + ".A" + new string(')', 10001) + "}}";
        Assert.Equal("template: :1: max expression depth exceeded", Assert.Throws<TemplateException>(() => OllamaTemplate.Parse(tooDeep)).Message);
        var absurd = "{{" + new string('(', 1_000_000) + ".A" + new string(')', 1_000_000) + "}}";
        Assert.Equal("template: :1: max expression depth exceeded", Assert.Throws<TemplateException>(() => OllamaTemplate.Parse(absurd)).Message);
        // 500 nested ifs parse (Go accepts them too) and render.
        var nested = string.Concat(Enumerable.Repeat("{{ if .A }}", 500)) + "x" + string.Concat(Enumerable.Repeat("{{ end }}", 500));
        Assert.Equal("x", OllamaTemplate.Render(OllamaTemplate.Parse(nested), new Dictionary<string, object?> { ["A"] = true }));
    }

    [Fact]
    public void A_function_named_break_replaces_the_keyword_as_in_go()
    {
        var template = GoTemplate.Parse("{{ break 1 }}", ["break"]);
        Assert.Equal("break", Assert.IsType<IdentifierNode>(Assert.IsType<ActionNode>(template.Root.Nodes[0]).Pipe.Commands[0].Arguments[0]).Name);
    }
}
