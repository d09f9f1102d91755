using Quanta.Formats.Gguf;
using Quanta.Store;
using Quanta.Templates;
using Quanta.Templates.Go;

namespace Quanta.Server.Ollama;

/// <summary>
/// What a model can do, as Ollama's <c>Model.Capabilities</c> (server/images.go) reports it in <c>/api/show</c> and
/// <c>/api/tags</c>: <c>completion</c>, or <c>embedding</c> when the GGUF has <c>{arch}.pooling_type</c>; <c>vision</c>
/// for a vision tower in the GGUF or a projector layer; <c>audio</c> for an audio tower; from a TEMPLATE, <c>tools</c>
/// when it reads <c>.Tools</c> and <c>insert</c> when it reads <c>.Suffix</c>; without one, <c>tools</c> and
/// <c>thinking</c> from the GGUF's chat template by Ollama's string tests; <c>thinking</c> for gpt-oss.
/// </summary>
/// <remarks>
/// Not yet: <c>thinking</c> inferred from a TEMPLATE's <c>.Thinking</c> block (Ollama's thinking.InferTags), which
/// comes with the thinking parser, and the capabilities of Ollama's built-in renderers and parsers.
/// </remarks>
public static class ModelCapabilities
{
    public const string Completion = "completion";
    public const string Embedding = "embedding";
    public const string Vision = "vision";
    public const string Audio = "audio";
    public const string Tools = "tools";
    public const string Insert = "insert";
    public const string Thinking = "thinking";

    public static IReadOnlyList<string> Of(StoredModel model, GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        var capabilities = new List<string>();
        void Add(string capability)
        {
            if (!capabilities.Contains(capability))
            {
                capabilities.Add(capability);
            }
        }

        var arch = metadata.LenientString(GgufKeys.Architecture) ?? "";
        if (model.Template is null && metadata.LenientString("tokenizer.chat_template") is { Length: > 0 } chatTemplate)
        {
            if (chatTemplate.Contains("tools", StringComparison.Ordinal) || chatTemplate.Contains("tool_call", StringComparison.Ordinal))
            {
                Add(Tools);
            }
            if (HasThinkingSupport(chatTemplate))
            {
                Add(Thinking);
            }
        }
        Add(metadata.ContainsKey($"{arch}.pooling_type") ? Embedding : Completion);
        if (metadata.ContainsKey($"{arch}.vision.block_count"))
        {
            Add(Vision);
        }
        if (metadata.ContainsKey($"{arch}.audio.block_count"))
        {
            Add(Audio);
        }
        if (model.ProjectorPaths.Count > 0)
        {
            Add(Vision);
        }
        if (model.Template is { } template && TemplateVariables(template) is { } variables)
        {
            if (variables.Contains("tools"))
            {
                Add(Tools);
            }
            if (variables.Contains("suffix"))
            {
                Add(Insert);
            }
        }
        if (model.Config.ModelFamily is "gptoss" or "gpt-oss")
        {
            Add(Thinking);
        }
        return capabilities;
    }

    /// <summary>Ollama's chatTemplateHasThinkingSupport.</summary>
    static bool HasThinkingSupport(string chatTemplate) =>
        chatTemplate.Contains("<think>", StringComparison.Ordinal) && chatTemplate.Contains("</think>", StringComparison.Ordinal)
        || (chatTemplate.Contains("content.split('</think>')", StringComparison.Ordinal) || chatTemplate.Contains("content.split(\"</think>\")", StringComparison.Ordinal))
            && !chatTemplate.Contains("reasoning_content", StringComparison.Ordinal)
            && !chatTemplate.Contains("<SPECIAL_12>", StringComparison.Ordinal);

    /// <summary>The template's variables, or null when it does not parse (Ollama logs a warning and claims nothing from it).</summary>
    static IReadOnlyList<string>? TemplateVariables(string template)
    {
        try
        {
            return OllamaTemplate.Variables(OllamaTemplate.Parse(template));
        }
        catch (TemplateException)
        {
            return null;
        }
    }
}
