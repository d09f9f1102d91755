using Quanta.Inference.Chat;
using Quanta.Server.Http;
using Quanta.Templates;
using Quanta.Templates.Ollama;

namespace Quanta.Server.Generation;

/// <summary>
/// The prompt of <c>/api/generate</c> (and <c>/v1/completions</c>), as Ollama's GenerateHandler builds it: a raw prompt
/// as it is; otherwise the template (the request's <c>template</c>, else the model's) rendered over the system message
/// (the request's, else the model's), the model's MESSAGE layers (unless the request continues a <c>context</c>) and the
/// prompt as a user message, or, with a <c>suffix</c>, over <c>.Prompt</c> and <c>.Suffix</c> (fill-in-the-middle,
/// for templates that read <c>.Suffix</c>). A <c>context</c> (the tokens a previous answer returned) goes first, as text.
/// </summary>
internal static class GeneratePrompt
{
    /// <exception cref="ApiException">400: a template that does not parse, a suffix the template cannot place.</exception>
    /// <exception cref="Templates.Go.TemplateException">The template failed while rendering.</exception>
    public static string Build(ChatSession session, string requested, GenerateInput input)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(input);
        if (input.Raw)
        {
            return input.Prompt;
        }
        IChatTemplate template = session.Template;
        var source = session.TemplateSource;
        if (!string.IsNullOrEmpty(input.Template))
        {
            source = new ChatTemplateSource(TemplateLanguage.Go, input.Template);
            try
            {
                template = OllamaPromptTemplate.Parse(input.Template);
            }
            catch (Templates.Go.TemplateException e)
            {
                throw ApiException.BadRequest(e.Message, e);
            }
        }
        var prefix = input.Context is { Count: > 0 } context ? session.Model.Tokenizer.DetokenizeToString([.. context]) : "";
        if (!string.IsNullOrEmpty(input.Suffix))
        {
            var go = source.Language == TemplateLanguage.Go ? OllamaTemplate.Parse(source.Text) : null;
            if (go is null || !OllamaTemplate.Variables(go).Contains("suffix"))
            {
                throw ApiException.BadRequest($"\"{requested}\" does not support insert");
            }
            return prefix + OllamaTemplate.Render(go, new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["Prompt"] = input.Prompt,
                ["Suffix"] = input.Suffix,
                ["System"] = "",
                ["Response"] = "",
                ["Think"] = input.Think?.Enabled ?? false,
                ["ThinkLevel"] = input.Think?.Level ?? "",
                ["IsThinkSet"] = input.Think is not null,
            });
        }
        var messages = new List<PromptMessage>();
        var system = !string.IsNullOrEmpty(input.System) ? input.System : session.System;
        if (system.Length > 0)
        {
            messages.Add(new PromptMessage("system", system));
        }
        if (input.Context is null)
        {
            messages.AddRange(session.Messages);
        }
        for (var i = 0; i < input.ImageCount; i++)
        {
            // Ollama's GenerateHandler: each picture as a user message of its own tag, before the prompt.
            messages.Add(new PromptMessage("user", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"[img-{i}]")));
        }
        messages.Add(new PromptMessage("user", input.Prompt));
        return prefix + template.Render(new PromptRequest(messages) { Think = input.Think });
    }
}

/// <summary>What <see cref="GeneratePrompt"/> reads of a request.</summary>
internal sealed record GenerateInput(string Prompt)
{
    public bool Raw { get; init; }

    public string? System { get; init; }

    public string? Template { get; init; }

    public string? Suffix { get; init; }

    public IReadOnlyList<int>? Context { get; init; }

    public ThinkSetting? Think { get; init; }

    /// <summary>How many pictures the request has (<c>images</c>): each gets its <c>[img-N]</c> tag.</summary>
    public int ImageCount { get; init; }
}
