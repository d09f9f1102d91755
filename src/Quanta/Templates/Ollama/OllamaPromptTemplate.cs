using Quanta.Templates.Go;

namespace Quanta.Templates.Ollama;

/// <summary>
/// An Ollama TEMPLATE rendered as Ollama renders a chat (ollama/ollama <c>template/template.go</c>, <c>Parse</c> and
/// <c>Execute</c>). A template that reads <c>.Messages</c> is executed once over the whole conversation (with
/// <c>.System</c> the system messages joined by blank lines, <c>.Tools</c>, <c>.Think</c>, <c>.ThinkLevel</c>,
/// <c>.IsThinkSet</c> and an empty <c>.Response</c>); any other template is executed once per turn with
/// <c>.System</c>, <c>.Prompt</c> and <c>.Response</c>, the last turn with a copy of the tree cut after
/// <c>.Response</c> so the prompt ends where the answer starts.
/// </summary>
public sealed class OllamaPromptTemplate : IChatTemplate
{
    readonly GoTemplate _template;
    readonly bool _readsMessages;

    OllamaPromptTemplate(GoTemplate template, bool readsMessages)
    {
        _template = template;
        _readsMessages = readsMessages;
    }

    /// <summary>The text the template was parsed from.</summary>
    public string Text => _template.Text;

    /// <summary>
    /// Parses a TEMPLATE as Ollama's <c>template.Parse</c>: one that reads neither <c>.Messages</c> nor
    /// <c>.Response</c> gets <c>{{ .Response }}</c> appended.
    /// </summary>
    /// <exception cref="TemplateException">Ollama would refuse the template; the message is its error.</exception>
    public static OllamaPromptTemplate Parse(string text)
    {
        var template = OllamaTemplate.Parse(text);
        var variables = OllamaTemplate.Variables(template);
        if (!variables.Contains("messages") && !variables.Contains("response"))
        {
            template = template.WithRoot(ResponseCut.AppendResponse(template.Root), keepDefinitions: true);
        }
        return new OllamaPromptTemplate(template, variables.Contains("messages"));
    }

    /// <inheritdoc/>
    public string Render(PromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (system, messages) = Collate(request.Messages);
        var think = request.Think?.Enabled ?? false;
        var thinkLevel = request.Think?.Level ?? "";
        var isThinkSet = request.Think is not null;
        if (_readsMessages)
        {
            return OllamaTemplate.Render(_template, new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["System"] = system,
                ["Messages"] = messages,
                ["Tools"] = request.Tools is null ? new PromptToolList { IsAbsent = true } : new PromptToolList(request.Tools),
                ["Response"] = "",
                ["Think"] = think,
                ["ThinkLevel"] = thinkLevel,
                ["IsThinkSet"] = isThinkSet,
            });
        }

        // The legacy path: one execution per system/user/assistant turn; tool messages play no part.
        var output = new System.Text.StringBuilder();
        string turnSystem = "", prompt = "", response = "";
        Dictionary<string, object?> Turn() => new(StringComparer.Ordinal)
        {
            ["System"] = turnSystem,
            ["Prompt"] = prompt,
            ["Response"] = response,
            ["Think"] = think,
            ["ThinkLevel"] = thinkLevel,
            ["IsThinkSet"] = isThinkSet,
        };
        void Execute()
        {
            output.Append(OllamaTemplate.Render(_template, Turn()));
            turnSystem = prompt = response = "";
        }
        foreach (var message in messages)
        {
            switch (message.Role)
            {
                case "system":
                    if (prompt.Length > 0 || response.Length > 0)
                    {
                        Execute();
                    }
                    turnSystem = message.Content;
                    break;
                case "user":
                    if (response.Length > 0)
                    {
                        Execute();
                    }
                    prompt = message.Content;
                    break;
                case "assistant":
                    response = message.Content;
                    break;
            }
        }

        // Ollama executes the cut tree in a fresh template.New(""): no defined templates and none of its functions.
        var last = _template.WithRoot(ResponseCut.AtResponse(_template.Root), keepDefinitions: false);
        output.Append(last.Render(Turn()));
        return output.ToString();
    }

    /// <summary>
    /// Ollama's <c>collate</c>: all system contents joined by blank lines, and the messages with consecutive ones of
    /// the same role (tool results apart) merged into one, their contents joined by a blank line.
    /// </summary>
    static (string System, List<PromptMessage> Messages) Collate(IReadOnlyList<PromptMessage> messages)
    {
        var system = new List<string>();
        var collated = new List<PromptMessage>();
        foreach (var message in messages)
        {
            if (message.Role == "system")
            {
                system.Add(message.Content);
            }
            if (collated.Count > 0 && collated[^1].Role == message.Role && message.Role != "tool")
            {
                collated[^1] = collated[^1] with { Content = collated[^1].Content + "\n\n" + message.Content };
            }
            else
            {
                collated.Add(message);
            }
        }
        return (string.Join("\n\n", system), collated);
    }
}
