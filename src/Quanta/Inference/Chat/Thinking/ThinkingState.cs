namespace Quanta.Inference.Chat.Thinking;

/// <summary>Where a <see cref="ThinkingParser"/> stands in the model's output (Ollama's <c>thinkingState</c>).</summary>
public enum ThinkingState
{
    /// <summary>Only whitespace so far, or the start of the opening tag: thinking may still begin.</summary>
    LookingForOpening,

    /// <summary>The opening tag was seen; whitespace after it is dropped.</summary>
    ThinkingStartedEatingWhitespace,

    /// <summary>Inside the thinking, until the closing tag.</summary>
    Thinking,

    /// <summary>The closing tag was seen; whitespace after it is dropped.</summary>
    ThinkingDoneEatingWhitespace,

    /// <summary>Everything from here on is content.</summary>
    ThinkingDone,
}
