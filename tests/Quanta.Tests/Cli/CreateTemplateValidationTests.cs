using Quanta.Store;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>create</c> refuses a TEMPLATE that Ollama would refuse, with Ollama's message (<c>template error: </c> and Go's
/// parser error with the template's line, as Ollama's setTemplate words it), exit code 2, and the store untouched.
/// The expected messages are what Go's text/template says about the same templates.
/// </summary>
public class CreateTemplateValidationTests
{
    static Dictionary<string, byte[]> Snapshot(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f), File.ReadAllBytes);

    [Theory]
    [InlineData("TEMPLATE \"{{ .Prompt \"", "template error: template: :1: unclosed action")]
    [InlineData("TEMPLATE \"\"\"{{ if .System }}\n{{ .System }}\n\"\"\"", "template error: template: :3: unexpected EOF")]
    [InlineData("TEMPLATE \"\"\"<|user|>\n{{ .Prompt }}\n{{ json .Tools | bogus }}\"\"\"", "template error: template: :3: function \"bogus\" not defined")]
    [InlineData("TEMPLATE {{ template \"x\" }}", "template error: undefined template specified")]
    public void A_bad_template_is_refused_and_the_store_is_unchanged(string templateLine, string message)
    {
        using var dir = new TempDirectory();
        var store = dir.File("store");
        File.Copy(CliRunner.TinyModel, dir.File("tiny.gguf"));
        File.WriteAllText(dir.File("Good"), "FROM ./tiny.gguf\nTEMPLATE {{ .Prompt }}\n");
        Assert.Equal(0, CliRunner.Run("create", "m", "-f", dir.File("Good"), "--store", store).ExitCode);
        var before = Snapshot(store);

        File.WriteAllText(dir.File("Bad"), $"FROM ./tiny.gguf\n{templateLine}\nSYSTEM hello\n");
        foreach (var name in new[] { "m", "other" })
        {
            var result = CliRunner.Run("create", name, "-f", dir.File("Bad"), "--store", store);
            Assert.Equal(2, result.ExitCode);
            Assert.Equal([$"error: {message}"], result.ErrorLines);
        }

        var after = Snapshot(store);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, kv => Assert.Equal(kv.Value, after[kv.Key]));
        Assert.Equal("{{ .Prompt }}", StoredModel.Load(new ModelStore(store), ModelName.Parse("m")).Template);
    }

    [Fact]
    public void Ollamas_own_templates_are_accepted()
    {
        using var dir = new TempDirectory();
        File.Copy(CliRunner.TinyModel, dir.File("tiny.gguf"));
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "ollama-tools", "qwen2.5.gotmpl"));
        File.WriteAllText(dir.File("Modelfile"), $"FROM ./tiny.gguf\nTEMPLATE \"\"\"{template}\"\"\"\n");
        Assert.Equal(0, CliRunner.Run("create", "q", "-f", dir.File("Modelfile"), "--store", dir.File("store")).ExitCode);
        Assert.Equal(template, StoredModel.Load(new ModelStore(dir.File("store")), ModelName.Parse("q")).Template);
    }
}
