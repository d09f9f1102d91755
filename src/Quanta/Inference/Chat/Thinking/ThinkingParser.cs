using System.Text;

namespace Quanta.Inference.Chat.Thinking;

/// <summary>
/// Splits a thinking model's streamed output into its thinking and its content, as Ollama's
/// <c>thinking.Parser</c> does (thinking/parser.go): thinking counts only when the output starts, after
/// whitespace, with the opening tag (e.g. <c>&lt;think&gt;</c>); it ends at the closing tag; whitespace right
/// after either tag is dropped. Text that might be the start of a tag is held back until the next piece
/// settles it, so pieces may end anywhere — in the middle of a token's text or of a tag. Feed every piece of
/// text to <see cref="AddContent"/> and show what it returns. Get the tags from the template with
/// <see cref="ThinkingTags"/>.
/// </summary>
public sealed class ThinkingParser
{
    readonly StringBuilder accumulated = new();

    /// <summary>A parser for the tags that open and close thinking.</summary>
    public ThinkingParser(string openingTag, string closingTag)
    {
        ArgumentException.ThrowIfNullOrEmpty(openingTag);
        ArgumentException.ThrowIfNullOrEmpty(closingTag);
        OpeningTag = openingTag;
        ClosingTag = closingTag;
    }

    /// <summary>The tag that opens thinking, e.g. <c>&lt;think&gt;</c>.</summary>
    public string OpeningTag { get; }

    /// <summary>The tag that closes thinking, e.g. <c>&lt;/think&gt;</c>.</summary>
    public string ClosingTag { get; }

    /// <summary>Where the parser stands.</summary>
    public ThinkingState State { get; private set; }

    /// <summary>
    /// A parser for a reply to <paramref name="prompt"/>: when the prompt itself ends with the opening tag
    /// (templates that open the thinking for the model), the reply starts inside the thinking, as Ollama's
    /// server sets it up.
    /// </summary>
    public static ThinkingParser ForPrompt(string prompt, string openingTag, string closingTag)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var parser = new ThinkingParser(openingTag, closingTag);
        if (prompt.Trim().EndsWith(openingTag, StringComparison.Ordinal))
        {
            parser.AddContent(openingTag);
        }
        return parser;
    }

    /// <summary>
    /// Takes the next piece of output and returns the thinking and content it settles; text that could
    /// still be part of a tag stays buffered for the next call.
    /// </summary>
    public ThinkingPiece AddContent(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        accumulated.Append(piece);
        var thinking = new StringBuilder();
        var content = new StringBuilder();
        // several states may be passed in one piece; stop only when the rest needs more input
        bool more;
        do
        {
            (var t, var c, more) = Eat();
            thinking.Append(t);
            content.Append(c);
        }
        while (more);
        return new ThinkingPiece(thinking.ToString(), content.ToString());
    }

    (string Thinking, string Content, bool More) Eat()
    {
        switch (State)
        {
            case ThinkingState.LookingForOpening:
            {
                var text = accumulated.ToString();
                var trimmed = text.TrimStart();
                if (trimmed.StartsWith(OpeningTag, StringComparison.Ordinal))
                {
                    // what follows the tag may hold more than thinking: parse it in the next state
                    var after = trimmed[OpeningTag.Length..].TrimStart();
                    Reset(after);
                    State = after.Length == 0 ? ThinkingState.ThinkingStartedEatingWhitespace : ThinkingState.Thinking;
                    return ("", "", true);
                }
                if (OpeningTag.StartsWith(trimmed, StringComparison.Ordinal))
                {
                    // only whitespace, or part of the opening tag: wait for more
                    return ("", "", false);
                }
                // content came first: there is no thinking, and the content keeps its whitespace
                State = ThinkingState.ThinkingDone;
                Reset("");
                return ("", text, false);
            }
            case ThinkingState.ThinkingStartedEatingWhitespace:
            {
                var trimmed = accumulated.ToString().TrimStart();
                Reset(trimmed);
                if (trimmed.Length == 0)
                {
                    return ("", "", false);
                }
                State = ThinkingState.Thinking;
                return ("", "", true);
            }
            case ThinkingState.Thinking:
            {
                var text = accumulated.ToString();
                var close = text.IndexOf(ClosingTag, StringComparison.Ordinal);
                if (close >= 0)
                {
                    var remaining = text[(close + ClosingTag.Length)..].TrimStart();
                    Reset("");
                    State = remaining.Length == 0 ? ThinkingState.ThinkingDoneEatingWhitespace : ThinkingState.ThinkingDone;
                    return (text[..close], remaining, false);
                }
                var overlap = Overlap(text, ClosingTag);
                // hold back what may be the start of the closing tag
                Reset(text[^overlap..]);
                return (text[..^overlap], "", false);
            }
            case ThinkingState.ThinkingDoneEatingWhitespace:
            {
                var trimmed = accumulated.ToString().TrimStart();
                Reset("");
                if (trimmed.Length > 0)
                {
                    State = ThinkingState.ThinkingDone;
                }
                return ("", trimmed, false);
            }
            default:
            {
                var text = accumulated.ToString();
                Reset("");
                return ("", text, false);
            }
        }
    }

    void Reset(string text) => accumulated.Clear().Append(text);

    // the longest suffix of text that is a prefix of tag
    static int Overlap(string text, string tag)
    {
        for (var length = Math.Min(tag.Length, text.Length); length > 0; length--)
        {
            if (text.EndsWith(tag[..length], StringComparison.Ordinal))
            {
                return length;
            }
        }
        return 0;
    }
}
