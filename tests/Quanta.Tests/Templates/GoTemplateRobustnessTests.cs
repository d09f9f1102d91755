using Quanta.Templates;
using Quanta.Templates.Go;

namespace Quanta.Tests.Templates;

/// <summary>
/// Bad input gets a clear error, never a crash: random text made of the grammar's characters (lone surrogates and
/// control characters included) either parses or fails with <see cref="TemplateException"/>, and what parses renders
/// or fails the same way.
/// </summary>
public class GoTemplateRobustnessTests
{
    static readonly string[] Pieces =
    [
        "{{", "}}", "{{- ", " -}}", "/*", "*/", "(", ")", "|", ":=", "=", ",", ".", "$", "\"", "`", "'", "\\", "-", "+",
        "0x", "1e", "_", "i", " ", "\n", "\r", "\t", "\0", "\uD800", "é", "if", "else", "end", "range", "with", "define",
        "template", "block", "break", "continue", "nil", "true", ".A", ".L", "$x", "eq", "len", "index", "slice", "printf",
        "json", "and", "\"%v\"", "1", "2", "x",
    ];

    [Fact]
    public void Random_text_parses_or_fails_with_a_template_error()
    {
        var random = new Random(20261204);
        var data = new Dictionary<string, object?> { ["A"] = "a", ["L"] = new List<object?> { 1L, "two", null } };
        var parsed = 0;
        for (var i = 0; i < 5000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 16)).Select(_ => Pieces[random.Next(Pieces.Length)]));
            GoTemplate template;
            try
            {
                template = OllamaTemplate.Parse(text);
            }
            catch (TemplateException)
            {
                continue;
            }
            parsed++;
            try
            {
                OllamaTemplate.Render(template, data);
            }
            catch (TemplateException)
            {
            }
        }
        Assert.True(parsed > 500, $"only {parsed} of the random texts parsed");
    }
}
