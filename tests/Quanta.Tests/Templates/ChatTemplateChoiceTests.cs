using System.Text.Json;
using Quanta.Templates.Ollama;

namespace Quanta.Tests.Templates;

/// <summary>
/// The template choice and Ollama's named templates. Fixtures/templates/ollama-prompts/named-templates.jsonl is
/// Ollama's own <c>template/testdata/templates.jsonl</c>: Hugging Face chat templates and the named template its
/// <c>TestNamed</c> expects each to map to.
/// </summary>
public class ChatTemplateChoiceTests
{
    static readonly Lazy<List<(string Name, string ChatTemplate)>> Named = new(() =>
        [.. File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "ollama-prompts", "named-templates.jsonl"))
            .Where(l => l.Length > 0)
            .SelectMany(l => JsonSerializer.Deserialize<Dictionary<string, string>>(l)!)
            .Select(p => (p.Key, p.Value))]);

    public static TheoryData<int> NamedCases() => [.. Enumerable.Range(0, Named.Value.Count)];

    [Theory]
    [MemberData(nameof(NamedCases))]
    public void Chat_templates_map_to_the_named_template_ollama_picks(int index)
    {
        var (name, chatTemplate) = Named.Value[index];
        var match = OllamaNamedTemplates.Match(chatTemplate);
        Assert.NotNull(match);
        Assert.Equal(name, match.Name);
        Assert.NotEmpty(OllamaPromptTemplate.Parse(match.Template).Text);
    }

    [Fact]
    public void An_unrelated_chat_template_matches_nothing()
    {
        Assert.Null(OllamaNamedTemplates.Match(string.Concat(Enumerable.Repeat("{{ messages | tojson }} unrelated ", 20))));
    }

    [Fact]
    public void Named_templates_carry_ollamas_stop_words()
    {
        // template/llama3-instruct.json and chatml.json of Ollama.
        Assert.Equal(["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], OllamaNamedTemplates.All["llama3-instruct"].Stop);
        Assert.Equal(["<|im_start|>", "<|im_end|>"], OllamaNamedTemplates.All["chatml"].Stop);
        Assert.Equal(19, OllamaNamedTemplates.All.Count);
    }

    [Fact]
    public void A_stored_template_wins_then_the_gguf_chat_template_then_the_default()
    {
        Assert.Equal(new ChatTemplateSource(TemplateLanguage.Go, "{{ .System }}"), ChatTemplateChoice.Choose("{{ .System }}", "{{ messages }}"));
        Assert.Equal(new ChatTemplateSource(TemplateLanguage.Jinja, "{{ messages }}"), ChatTemplateChoice.Choose(null, "{{ messages }}"));
        Assert.Equal(new ChatTemplateSource(TemplateLanguage.Jinja, "{{ messages }}"), ChatTemplateChoice.Choose("", "{{ messages }}"));
        Assert.Equal(new ChatTemplateSource(TemplateLanguage.Go, "{{ .Prompt }}"), ChatTemplateChoice.Choose(null, null));
    }

    [Fact]
    public void Stop_words_are_the_parameters_then_the_matched_templates()
    {
        var (_, chatml) = Named.Value.First(n => n.Name == "chatml");
        Assert.Equal(["###", "<|im_end|>", "<|im_start|>"], ChatTemplateChoice.StopWords(["###", "<|im_end|>"], null, chatml));
        // A stored TEMPLATE: only the parameters (Ollama stored the template's stop words at create, if any).
        Assert.Equal(["###"], ChatTemplateChoice.StopWords(["###"], "{{ .Prompt }}", chatml));
        Assert.Empty(ChatTemplateChoice.StopWords(null, null, null));
    }
}
