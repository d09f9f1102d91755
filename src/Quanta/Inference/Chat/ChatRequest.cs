using System.Text.Json.Nodes;
using Quanta.Inference.Sampling.Grammar;
using Quanta.Templates.Ollama;

namespace Quanta.Inference.Chat;

/// <summary>
/// One turn of a conversation, as Ollama's <c>/api/chat</c> takes it: the whole conversation so far (the model's own
/// system message and MESSAGE layers are added by the session), the request's options, and its <c>think</c>.
/// </summary>
public sealed record ChatRequest(IReadOnlyList<PromptMessage> Messages)
{
    /// <summary>Options over the session's parameters (Ollama's request <c>options</c>, the CLI's <c>/set parameter</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, JsonNode?>> Options { get; init; } = [];

    /// <summary>The request's <c>think</c>, or null when it sets none.</summary>
    public ThinkSetting? Think { get; init; }

    /// <summary>
    /// Ollama's <c>format</c> as raw JSON: <c>"json"</c> (quoted) for any JSON object, or a JSON schema object; null
    /// for free text. The answer is constrained by the grammar <see cref="OutputFormat"/> makes of it.
    /// </summary>
    public string? Format { get; init; }

    /// <summary>The tools the model may call (the template's <c>.Tools</c>), or null when the request has none.</summary>
    public IReadOnlyList<PromptTool>? Tools { get; init; }
}

/// <summary>A piece of a streamed answer: thinking text, content text (either may be empty).</summary>
public readonly record struct ChatDelta(string Thinking, string Content)
{
    public bool IsEmpty => Thinking.Length == 0 && Content.Length == 0;
}

/// <summary>Why an answer ended: Ollama's <c>done_reason</c>.</summary>
public static class DoneReasons
{
    /// <summary>An end-of-generation token or a stop sequence.</summary>
    public const string Stop = "stop";

    /// <summary>The <c>num_predict</c> budget, or a context that could not be shifted.</summary>
    public const string Length = "length";
}

/// <summary>
/// Ollama's timings of one answer (<c>api.Metrics</c>), in nanoseconds: the whole request, loading the model, the
/// prompt tokens evaluated (those the prompt cache did not already hold) and the tokens generated.
/// </summary>
public sealed record ChatStatistics(
    long TotalDuration, long LoadDuration, int PromptEvalCount, long PromptEvalDuration, int EvalCount, long EvalDuration);

/// <summary>A finished answer: its text, what the model thought, why it ended and how long each part took.</summary>
public sealed record ChatResult(string Content, string Thinking, string DoneReason, ChatStatistics Statistics);
