using Quanta.Templates.Go;

namespace Quanta.Inference.Chat.Thinking;

/// <summary>
/// The tags around a model's thinking, found in its chat template. For Ollama's Go templates this is
/// Ollama's heuristic (thinking/template.go <c>InferTags</c>): inside a <c>range</c> over <c>.Messages</c>,
/// the list holding a <c>.Thinking</c> field starts and ends with the tags as text, e.g.
/// <c>&lt;think&gt;{{ .Thinking }}&lt;/think&gt;</c>. A model has the thinking capability when both are found.
/// </summary>
public sealed record ThinkingTags(string Opening, string Closing)
{
    /// <summary>The tags of qwen3, deepseek-r1 and most open thinking models.</summary>
    public static ThinkingTags Think { get; } = new("<think>", "</think>");

    /// <summary>The tags of a Go template, or null when it does not show thinking (Ollama: no thinking capability).</summary>
    public static ThinkingTags? FromGoTemplate(GoTemplate template)
    {
        var (opening, closing) = InferTags(template);
        return opening.Length > 0 && closing.Length > 0 ? new ThinkingTags(opening, closing) : null;
    }

    /// <summary>
    /// The tags of a Jinja chat template (a GGUF's <c>tokenizer.chat_template</c>), which Ollama does not
    /// read: <see cref="Think"/> when the template's text holds both of them, as the templates of qwen3 and
    /// deepseek-r1 do (they strip or reopen the thinking), else null.
    /// </summary>
    public static ThinkingTags? FromJinjaTemplate(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template.Contains(Think.Opening, StringComparison.Ordinal) && template.Contains(Think.Closing, StringComparison.Ordinal)
            ? Think
            : null;
    }

    /// <summary>
    /// Ollama's <c>InferTags</c> exactly: the opening and closing text, each trimmed, or empty strings. The
    /// last <c>.Thinking</c> field met in document order decides.
    /// </summary>
    public static (string Opening, string Closing) InferTags(GoTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var ancestors = new List<Node>();
        var opening = "";
        var closing = "";

        bool Enter(Node node)
        {
            ancestors.Add(node);
            if (node is FieldNode field && field.Ident.Count > 0 && field.Ident[0] == "Thinking")
            {
                var range = ancestors.LastOrDefault(a => a is RangeNode) as RangeNode;
                if (range is null || !UsesField(range, "Messages"))
                {
                    return true;
                }
                // the nearest enclosing list: its first and last text nodes are the tags
                if (ancestors.LastOrDefault(a => a is ListNode) is ListNode list)
                {
                    if (list.Nodes[0] is TextNode first)
                    {
                        opening = first.Text.Trim();
                    }
                    if (list.Nodes[^1] is TextNode last)
                    {
                        closing = last.Text.Trim();
                    }
                }
            }
            return true;
        }

        Visit(template.Root, Enter, () => ancestors.RemoveAt(ancestors.Count - 1));
        return (opening, closing);
    }

    // whether the range's pipeline names the field (rangeUsesField)
    static bool UsesField(RangeNode range, string name)
    {
        var found = false;
        Visit(range.Pipe, n =>
        {
            if (n is FieldNode f && f.Ident.Count > 0 && f.Ident[0] == name)
            {
                found = true;
            }
            return true;
        }, null);
        return found;
    }

    // Ollama's templateVisit: the nodes it descends into, in its order; leaves end the walk.
    static void Visit(Node? node, Func<Node, bool> enter, Action? exit)
    {
        if (node is null || !enter(node))
        {
            return;
        }
        switch (node)
        {
            case ListNode list:
                foreach (var child in list.Nodes)
                {
                    Visit(child, enter, exit);
                }
                break;
            case BranchNode branch:
                Visit(branch.Pipe, enter, exit);
                Visit(branch.List, enter, exit);
                Visit(branch.ElseList, enter, exit);
                break;
            case ActionNode action:
                Visit(action.Pipe, enter, exit);
                break;
            case TemplateNode template:
                Visit(template.Pipe, enter, exit);
                break;
            case PipeNode pipe:
                foreach (var command in pipe.Commands)
                {
                    Visit(command, enter, exit);
                }
                break;
            case CommandNode command:
                foreach (var argument in command.Arguments)
                {
                    Visit(argument, enter, exit);
                }
                break;
        }
        exit?.Invoke();
    }
}
