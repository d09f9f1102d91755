namespace Quanta.Inference.Chat.Thinking;

/// <summary>What one streamed piece of model output turned into: thinking text and content text, either possibly empty.</summary>
public readonly record struct ThinkingPiece(string Thinking, string Content)
{
    /// <summary>Whether the piece gave nothing to show yet (the parser is waiting to disambiguate a tag).</summary>
    public bool IsEmpty => Thinking.Length == 0 && Content.Length == 0;
}
