using Quanta.Inference.Chat;

namespace Quanta.Server.Generation;

/// <summary>
/// A piece of a streamed answer as the endpoints write it: thinking, content (with tool calls taken out), the tool
/// calls completed in it; the last piece carries the <see cref="Result"/> (and any content held back until the end).
/// </summary>
public sealed record GenerationPiece(string Thinking, string Content, IReadOnlyList<ParsedToolCall> ToolCalls, ChatResult? Result = null)
{
    public bool IsEmpty => Thinking.Length == 0 && Content.Length == 0 && ToolCalls.Count == 0 && Result is null;
}
