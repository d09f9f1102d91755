using Quanta.Templates.Jinja;

namespace Quanta.Tests.Templates;

/// <summary>Whatever the text, parsing and rendering end in output or a <see cref="JinjaException"/>, never a crash.</summary>
public class JinjaTemplateRobustnessTests
{
    static readonly string[] Pieces =
    [
        "{{", "}}", "{%", "%}", "{{-", "-}}", "{%-", "-%}", "{#", "#}", " ", "\n", "if", "elif", "else", "endif", "for",
        "in", "endfor", "set", "endset", "macro", "endmacro", "call", "endcall", "x", "messages", "m", "loop", ".",
        "[", "]", "(", ")", "{", "}", ",", ":", "|", "~", "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", ">",
        "=", "'a'", "\"b\"", "'", "\"", "\\", "1", "2.5", "-3", "true", "none", "not", "and", "or", "is", "defined",
        "trim", "tojson", "length", "items", "join", "upper", "default", "raise_exception", "namespace", "ns", "range",
        "text", "é", "\u2028", "\r",
    ];

    [Fact]
    public void Random_templates_render_or_fail_with_a_jinja_exception()
    {
        var random = new Random(11);
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = new[] { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" } },
            ["x"] = 3,
            ["text"] = "abc",
        };
        int rendered = 0;
        for (int i = 0; i < 5000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 25)).Select(_ => Pieces[random.Next(Pieces.Length)]));
            try
            {
                JinjaTemplate.Parse(text).Render(variables);
                rendered++;
            }
            catch (JinjaException e)
            {
                Assert.DoesNotContain('\n', e.Message.Replace(e.Reason, "", StringComparison.Ordinal));
            }
        }
        Assert.True(rendered > 100, $"only {rendered} rendered");
    }

    [Fact]
    public void A_macro_that_calls_itself_forever_is_an_error_naming_its_line()
    {
        var template = JinjaTemplate.Parse("{% macro m() %}\n{{ m() }}\n{% endmacro %}\n{{ m() }}");
        var e = Assert.Throws<JinjaException>(() => template.Render(new Dictionary<string, object?>()));
        Assert.Equal("Maximum call stack size exceeded", e.Reason);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Absurdly_nested_expressions_are_an_error()
    {
        var text = "{{ " + new string('(', 100_000) + "1" + new string(')', 100_000) + " }}";
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse(text));
        Assert.Equal(1, e.Line);
    }
}
