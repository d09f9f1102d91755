namespace Quanta.Templates.Ollama;

/// <summary>
/// A chat template: turns a conversation into the prompt text the model continues. Ollama's Go TEMPLATE
/// (<see cref="OllamaPromptTemplate"/>) is one; a Jinja <c>tokenizer.chat_template</c> can be another.
/// </summary>
public interface IChatTemplate
{
    /// <summary>The prompt for <paramref name="request"/>, ending where the assistant's answer starts.</summary>
    /// <exception cref="TemplateException">The template failed; the message says why.</exception>
    string Render(PromptRequest request);
}

/// <summary>What a chat template renders: the messages, the tools the model may call, and the thinking setting.</summary>
public sealed record PromptRequest(IReadOnlyList<PromptMessage> Messages)
{
    /// <summary>The tools, or null when the request has none (not the same as an empty list to a template).</summary>
    public IReadOnlyList<PromptTool>? Tools { get; init; }

    /// <summary>The request's <c>think</c>, or null when it did not set one.</summary>
    public ThinkSetting? Think { get; init; }
}

/// <summary>
/// Ollama's <c>think</c> request value (ollama/ollama <c>api/types.go</c>, <c>ThinkValue</c>): true/false, or a level
/// "high", "medium", "low" or "max".
/// </summary>
public sealed record ThinkSetting
{
    ThinkSetting(bool enabled, string level)
    {
        Enabled = enabled;
        Level = level;
    }

    /// <summary>Whether thinking is on (<c>.Think</c>): true, or one of the known levels.</summary>
    public bool Enabled { get; }

    /// <summary>The level (<c>.ThinkLevel</c>): as given, "medium" for true, empty for false.</summary>
    public string Level { get; }

    public static ThinkSetting FromBool(bool enabled) => new(enabled, enabled ? "medium" : "");

    public static ThinkSetting FromLevel(string level)
    {
        ArgumentNullException.ThrowIfNull(level);
        return new(level is "high" or "medium" or "low" or "max", level);
    }
}
