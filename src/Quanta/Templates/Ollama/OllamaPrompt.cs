using System.Globalization;

namespace Quanta.Templates.Ollama;

/// <summary>
/// How much of a conversation fits: the context length and a token counter (the model's tokenizer, which the
/// caller supplies). <paramref name="HasVisionProjector"/>: each image also costs <see cref="ImageTokens"/> tokens,
/// as Ollama counts them for a model with a projector.
/// </summary>
public sealed record PromptBudget(int ContextLength, Func<string, int> CountTokens, bool HasVisionProjector = false)
{
    /// <summary>Ollama's flat estimate of one image's tokens (a CLIP image is 768 embeddings).</summary>
    public const int ImageTokens = 768;
}

/// <summary>
/// The prompt for the next chat turn. <see cref="Images"/> are the images of the kept messages, in order: the
/// image of index N is the one tagged <c>[img-N]</c> in <see cref="Text"/>. <see cref="FirstMessage"/> is the
/// index of the first message kept whole (system messages before it are kept too).
/// </summary>
public sealed record ChatPrompt(string Text, IReadOnlyList<byte[]> Images, int FirstMessage);

/// <summary>
/// Ollama's construction of a chat prompt (ollama/ollama <c>server/prompt.go</c>, <c>chatPrompt</c> and
/// <c>imageTaggedMessages</c>): drop the oldest messages until the rendered prompt fits the budget, always keeping
/// the last message and every system message, and tag each kept message's images <c>[img-N]</c> (in place of an
/// <c>[img]</c> marker in its content, else in front of it).
/// </summary>
public static class OllamaPrompt
{
    /// <summary>Builds the prompt for <paramref name="request"/>; with no <paramref name="budget"/>, nothing is dropped.</summary>
    /// <exception cref="TemplateException">The template failed.</exception>
    public static ChatPrompt Chat(IChatTemplate template, PromptRequest request, PromptBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(request);
        var messages = request.Messages;
        var first = 0;
        List<PromptMessage> system = [];
        if (budget is not null)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                // The system messages of the part about to be dropped stay, ahead of the rest.
                system = [.. messages.Take(i).Where(m => m.Role == "system")];
                var prompt = template.Render(request with { Messages = [.. system, .. messages.Skip(i)] });
                var tokens = budget.CountTokens(prompt);
                if (budget.HasVisionProjector)
                {
                    tokens += PromptBudget.ImageTokens * messages.Skip(i).Sum(m => m.Images.Count);
                }
                if (tokens <= budget.ContextLength || i == messages.Count - 1)
                {
                    first = i;
                    break;
                }
            }
        }

        var images = new List<byte[]>();
        var kept = new List<PromptMessage>(system);
        foreach (var message in messages.Skip(first))
        {
            var prefix = "";
            var content = message.Content;
            foreach (var image in message.Images)
            {
                var tag = string.Create(CultureInfo.InvariantCulture, $"[img-{images.Count}]");
                images.Add(image);
                var marker = content.IndexOf("[img]", StringComparison.Ordinal);
                if (marker < 0)
                {
                    prefix += tag;
                }
                else
                {
                    content = string.Concat(content.AsSpan(0, marker), tag, content.AsSpan(marker + "[img]".Length));
                }
            }
            kept.Add(message with { Content = prefix + content });
        }
        return new ChatPrompt(template.Render(request with { Messages = kept }), images, first);
    }
}
