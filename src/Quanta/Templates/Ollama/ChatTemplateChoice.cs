namespace Quanta.Templates.Ollama;

/// <summary>The language a chat template is written in.</summary>
public enum TemplateLanguage
{
    /// <summary>Go <c>text/template</c> with Ollama's data model: a TEMPLATE layer.</summary>
    Go,

    /// <summary>Jinja2: a GGUF file's <c>tokenizer.chat_template</c>.</summary>
    Jinja,
}

/// <summary>The template a model's prompts are rendered with, and its language.</summary>
public sealed record ChatTemplateSource(TemplateLanguage Language, string Text);

/// <summary>Which chat template a model uses, and which stop words end its answers.</summary>
public static class ChatTemplateChoice
{
    /// <summary>The template of a model that has none (Ollama's <c>template.DefaultTemplate</c>).</summary>
    public const string DefaultTemplate = "{{ .Prompt }}";

    /// <summary>A stored TEMPLATE layer wins; else the GGUF file's <c>tokenizer.chat_template</c>; else <see cref="DefaultTemplate"/>.</summary>
    public static ChatTemplateSource Choose(string? storedTemplate, string? ggufChatTemplate) =>
        !string.IsNullOrEmpty(storedTemplate) ? new(TemplateLanguage.Go, storedTemplate)
        : !string.IsNullOrEmpty(ggufChatTemplate) ? new(TemplateLanguage.Jinja, ggufChatTemplate)
        : new(TemplateLanguage.Go, DefaultTemplate);

    /// <summary>
    /// The stop words: the <c>stop</c> parameters, then, for a model whose template is its GGUF file's chat template
    /// (no stored TEMPLATE), the stop words of the Ollama named template that chat template matches, which Ollama's
    /// <c>create</c> stores as the model's <c>stop</c> parameter (<see cref="OllamaNamedTemplates"/>). Each once, in
    /// that order.
    /// </summary>
    public static IReadOnlyList<string> StopWords(IEnumerable<string>? parameterStops, string? storedTemplate, string? ggufChatTemplate)
    {
        var stops = new List<string>(parameterStops ?? []);
        if (string.IsNullOrEmpty(storedTemplate) && !string.IsNullOrEmpty(ggufChatTemplate)
            && OllamaNamedTemplates.Match(ggufChatTemplate) is { } named)
        {
            stops.AddRange(named.Stop);
        }
        return [.. stops.Distinct(StringComparer.Ordinal)];
    }
}
