using Quanta.Inference.Tokenizers;
using Quanta.Templates.Jinja;
using Quanta.Templates.Ollama;

namespace Quanta.Inference.Chat;

/// <summary>
/// A GGUF file's Jinja <c>tokenizer.chat_template</c> as a chat template, rendered as llama.cpp's server renders it:
/// <c>messages</c> (role and content), <c>add_generation_prompt</c> true, <c>bos_token</c> and <c>eos_token</c> the
/// vocabulary's texts. A template that writes the BOS text itself while the tokenizer also adds one would begin with
/// two; as llama.cpp's chat code does, the rendered BOS text is then dropped and the tokenizer's is kept.
/// </summary>
public sealed class JinjaChatTemplate : IChatTemplate
{
    readonly JinjaTemplate _template;
    readonly string _bos;
    readonly string _eos;
    readonly bool _tokenizerAddsBos;

    /// <exception cref="JinjaException">The template does not parse; the message names its line.</exception>
    public JinjaChatTemplate(string text, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _template = JinjaTemplate.Parse(text);
        _bos = vocabulary.Bos == Vocabulary.NoToken ? "" : vocabulary.TokenText(vocabulary.Bos);
        _eos = vocabulary.Eos == Vocabulary.NoToken ? "" : vocabulary.TokenText(vocabulary.Eos);
        _tokenizerAddsBos = vocabulary.AddBos && _bos.Length > 0;
    }

    /// <inheritdoc/>
    /// <exception cref="JinjaException">Rendering failed (<c>raise_exception</c>, a type error).</exception>
    public string Render(PromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var messages = request.Messages
            .Select(m => (object?)new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = m.Role, ["content"] = m.Content })
            .ToList();
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = true,
            ["bos_token"] = _bos,
            ["eos_token"] = _eos,
        };
        if (request.Think is { } think)
        {
            variables["enable_thinking"] = think.Enabled;
        }
        var text = _template.Render(variables);
        return _tokenizerAddsBos && text.StartsWith(_bos, StringComparison.Ordinal) ? text[_bos.Length..] : text;
    }
}
